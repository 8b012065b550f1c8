package companion

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vaultcmp/vaultcmp/vault"
)

// registerIdentityMetrics exposes how full the Lifecycle's identity table
// is, read at scrape time: alert before holding_leases reaches the limit
// (new identities are refused there).
func registerIdentityMetrics(reg prometheus.Registerer, l *vault.Lifecycle, limit int) error {
	if limit <= 0 {
		limit = vault.DefaultMaxClients
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaultcmp_vault_identities", Help: "Vault identities (logged-in clients) the companion keeps."},
			func() float64 { return float64(l.Stats().Clients) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaultcmp_vault_identities_holding_leases", Help: "Kept Vault identities holding live leases (never dropped)."},
			func() float64 { return float64(l.Stats().Holding) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vaultcmp_vault_identities_limit", Help: "The companion's --max-vault-identities."},
			func() float64 { return float64(limit) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
