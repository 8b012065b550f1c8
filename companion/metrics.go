package companion

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"

	"github.com/vaultcmp/vaultcmp/contract"
)

// Metrics are the companion's Prometheus metrics: the seed's vso_* counters
// (labels kind, namespace) and vaultcmp's own. No label holds a value.
type Metrics struct {
	SyncTotal     *prometheus.CounterVec // vso_secret_sync_total
	SyncErrors    *prometheus.CounterVec // vso_secret_sync_error_total
	Rotations     *prometheus.CounterVec // vso_secret_rotation_total
	Renewals      *prometheus.CounterVec
	RenewalErrors *prometheus.CounterVec
	Restarts      *prometheus.CounterVec
	Refreshes     *prometheus.CounterVec
	Lateness      prometheus.Histogram // renewal start minus its schedule
	LeaseExpiry   *prometheus.GaugeVec
	CertExpiry    *prometheus.GaugeVec

	mu     sync.Mutex
	gauged map[[2]string]struct{} // carriers with gauges, to delete them
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	kn := []string{"kind", "namespace"}
	m := &Metrics{
		SyncTotal:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vso_secret_sync_total", Help: "Secrets synced by the vaultcmp companion (successful reconciles)."}, kn),
		SyncErrors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vso_secret_sync_error_total", Help: "Failed syncs."}, kn),
		Rotations:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vso_secret_rotation_total", Help: "New credentials, certificates or static data written in place of earlier ones."}, kn),
		Renewals:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaultcmp_lease_renewal_total", Help: "Lease renewals that Vault granted in full."}, kn),
		RenewalErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaultcmp_lease_renewal_error_total", Help: "Lease renewals that failed."}, kn),
		Restarts:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaultcmp_rollout_restart_total", Help: "Rollout restarts made (label kind: the workload's)."}, kn),
		Refreshes:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vaultcmp_argocd_refresh_total", Help: "Hard refreshes asked of Argo CD after KV data changed."}, []string{"namespace"}),
		Lateness: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vaultcmp_renewal_lateness_seconds", Help: "How late lease renewals started, against their schedule.",
			Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30}}),
		LeaseExpiry: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vaultcmp_lease_expiry_timestamp_seconds", Help: "When each dynamic secret's lease expires (Unix time)."}, []string{"namespace", "carrier"}),
		CertExpiry:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vaultcmp_certificate_expiry_timestamp_seconds", Help: "When each PKI certificate expires (Unix time)."}, []string{"namespace", "carrier"}),
		gauged:      map[[2]string]struct{}{},
	}
	reg.MustRegister(m.SyncTotal, m.SyncErrors, m.Rotations, m.Renewals, m.RenewalErrors, m.Restarts, m.Refreshes, m.Lateness, m.LeaseExpiry, m.CertExpiry)
	return m
}

// observe sets the expiry gauges of a carrier.
func (r *Reconciler) observe(carrier *corev1.Secret, c *contract.V1, st State, _ time.Time) {
	m := r.Metrics
	k := [2]string{carrier.Namespace, carrier.Name}
	switch {
	case c.Object.Dynamic != nil && !st.LeaseExpiresAt.IsZero() && st.LeaseDuration > 0:
		m.LeaseExpiry.WithLabelValues(k[0], k[1]).Set(float64(st.LeaseExpiresAt.Unix()))
	case c.Object.PKI != nil && !st.Expiration.IsZero():
		m.CertExpiry.WithLabelValues(k[0], k[1]).Set(float64(st.Expiration.Unix()))
	default:
		return
	}
	m.mu.Lock()
	m.gauged[k] = struct{}{}
	m.mu.Unlock()
}

// forget drops a deleted carrier's gauges (memory stays bounded).
func (m *Metrics) forget(ns, name string) {
	k := [2]string{ns, name}
	m.mu.Lock()
	_, ok := m.gauged[k]
	delete(m.gauged, k)
	m.mu.Unlock()
	if ok {
		m.LeaseExpiry.DeleteLabelValues(ns, name)
		m.CertExpiry.DeleteLabelValues(ns, name)
	}
}
