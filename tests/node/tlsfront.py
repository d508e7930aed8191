"""TLS in front of plain-http servers: ``python -m tests.node.tlsfront --cert C --key K
LISTEN_HOST:PORT=BACKEND_PORT ...`` forwards each TLS connection to 127.0.0.1:BACKEND_PORT.

Runs until SIGTERM. tests/node/sandboxes.py puts it in front of the provider sandboxes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import ssl


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(OSError, ssl.SSLError, RuntimeError):
            writer.close()


async def serve(routes: list[str], context: ssl.SSLContext) -> None:
    servers = []
    for route in routes:
        front, backend = route.split("=")
        host, port = front.rsplit(":", 1)

        async def forward(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, to: int = int(backend)
        ) -> None:
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", to)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        servers.append(await asyncio.start_server(forward, host, int(port), ssl=context))
    print("serving", " ".join(routes), flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("routes", nargs="+", metavar="HOST:PORT=BACKEND_PORT")
    args = parser.parse_args()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    asyncio.run(serve(args.routes, context))


if __name__ == "__main__":
    main()
