-- Argo CD health check for Secrets (argocd-cm key resource.customizations.health.Secret).
-- A Secret labelled vaultcmp.io/delivery: in-cluster is written by vaultcmp without
-- data; the vaultcmp companion fills it. It is Progressing until it has data, so a
-- sync wave before the workloads keeps pods from starting on an empty Secret.
-- Every other Secret is Healthy, as without this check.
hs = {}
local labels = nil
if obj.metadata ~= nil then
  labels = obj.metadata.labels
end
if labels ~= nil and labels["vaultcmp.io/delivery"] == "in-cluster" then
  if obj.data ~= nil then
    for _, _ in pairs(obj.data) do
      hs.status = "Healthy"
      hs.message = "Written by the vaultcmp companion"
      return hs
    end
  end
  hs.status = "Progressing"
  hs.message = "Waiting for the vaultcmp companion to write the data"
  return hs
end
hs.status = "Healthy"
return hs
