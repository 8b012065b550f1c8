-- Argo CD health check for Secrets (argocd-cm key resource.customizations.health.Secret).
-- A carrier (type vaultcmp.io/contract-v1) holds vaultcmp's contract with the
-- in-cluster companion, which writes its status on the carrier in annotations:
--   vaultcmp.io/status: Synced | Error, vaultcmp.io/message: why (never a value).
-- A carrier is Progressing until the companion has filled its Secret, Healthy
-- once it has, Degraded with the companion's message when it cannot.
-- Carriers of in-cluster Secrets come in sync wave -1 (or the Vault object's
-- own argocd.argoproj.io/sync-wave): Argo CD applies the next wave, the
-- workloads, only once they are Healthy, so no pod starts on a missing Secret.
-- Every other Secret is Healthy, as without this check.
hs = {}
if obj.type == "vaultcmp.io/contract-v1" then
  local ann = {}
  if obj.metadata ~= nil and obj.metadata.annotations ~= nil then
    ann = obj.metadata.annotations
  end
  local status = ann["vaultcmp.io/status"]
  local msg = ann["vaultcmp.io/message"]
  if status == "Error" then
    hs.status = "Degraded"
    hs.message = msg or "The vaultcmp companion could not fill the Secret"
  elseif status == "Synced" then
    hs.status = "Healthy"
    hs.message = msg or "Filled by the vaultcmp companion"
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the vaultcmp companion"
  end
  return hs
end
hs.status = "Healthy"
return hs
