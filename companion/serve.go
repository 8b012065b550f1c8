package companion

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Names of the metrics certificate and key in Options.MetricsCertDir (the
// keys of a kubernetes.io/tls Secret, as cert-manager writes them).
const (
	MetricsCertName = "tls.crt"
	MetricsKeyName  = "tls.key"
)

// metricsOptions is how /metrics is served, as kubebuilder scaffolds it.
//
// Secure (the default): HTTPS, with the certificate and key of
// opts.MetricsCertDir (reloaded when they change) or, without one, a
// certificate controller-runtime signs itself at start; every request
// authenticated with a TokenReview and authorized with a
// SubjectAccessReview (get on the non-resource URL /metrics) against the
// apiserver, so only a client bound to such a role (the shipped
// vaultcmp-companion-metrics-reader) reads the carriers' names and expiry
// times. HTTP/2 is off (CVE-2023-44487, CVE-2023-39325), as kubebuilder's
// default.
//
// MetricsInsecure: plain HTTP without authentication, for local use only.
func metricsOptions(opts Options) (metricsserver.Options, error) {
	o := metricsserver.Options{BindAddress: opts.MetricsAddress}
	if opts.MetricsInsecure {
		if opts.MetricsCertDir != "" {
			return o, errors.New("a metrics certificate directory is given but metrics are served without TLS (--metrics-secure=false)")
		}
		opts.Logger.Info("/metrics is served over plain HTTP to anyone who can reach it (--metrics-secure=false): for local use only")
		return o, nil
	}
	o.SecureServing = true
	o.FilterProvider = filters.WithAuthenticationAndAuthorization
	o.TLSOpts = []func(*tls.Config){func(c *tls.Config) {
		c.NextProtos = []string{"http/1.1"}
		c.MinVersion = tls.VersionTLS12
	}}
	if opts.MetricsCertDir != "" {
		// controller-runtime falls back to a self-signed certificate when
		// the files are missing; an operator who named a directory wants
		// that certificate, so its absence is an error, not a fallback.
		for _, n := range []string{MetricsCertName, MetricsKeyName} {
			if _, err := os.Stat(filepath.Join(opts.MetricsCertDir, n)); err != nil {
				return o, fmt.Errorf("reading the metrics certificate: %w", err)
			}
		}
		o.CertDir, o.CertName, o.KeyName = opts.MetricsCertDir, MetricsCertName, MetricsKeyName
	}
	return o, nil
}
