"""Contract tests of the Yandex Serverless Containers adapter against its sandbox."""
