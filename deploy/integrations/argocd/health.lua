-- Argo CD health check for rollback.dev/RollbackRequest
-- (argocd-cm key: resource.customizations.health.rollback.dev_RollbackRequest; see argocd-cm.yaml).
--
-- Healthy     Ready=True: the rollback happened, the dry run resolved, the target was already live, or
--             the same request (namespace, name, spec) already rolled back (AlreadyExecuted).
-- Degraded    Stalled=True: the request failed (also Expired, Rejected, PlanChanged, or an earlier
--             run of the same request that failed), or ended Unknown and needs a human.
-- Suspended   AwaitingApproval: the plan waits for a RollbackApproval (message says how to approve).
-- Progressing anything else: no status yet, a status older than the spec, Waiting, Resolving, InProgress.
--
-- Only Lua's base library is used: Argo CD runs scripts from argocd-cm without the string library.

local hs = { status = "Progressing", message = "Waiting for the rollback operator to pick the request up" }

local status = obj.status
if status == nil or status.phase == nil then
  return hs
end

local generation = obj.metadata.generation
if status.observedGeneration ~= nil and generation ~= nil and status.observedGeneration < generation then
  hs.message = "Waiting for the rollback operator to observe the latest spec"
  return hs
end

local ready, stalled = nil, nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    elseif condition.type == "Stalled" then
      stalled = condition
    end
  end
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or status.message or "")
  return hs
end

if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = (ready.reason or "Ready") .. ": " .. (ready.message or status.message or "")
  return hs
end

if status.phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = "AwaitingApproval: " .. (status.message or "")
  return hs
end

if status.phase ~= nil and status.message ~= nil then
  hs.message = status.phase .. ": " .. status.message
end
return hs
