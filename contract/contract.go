package contract

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/vaultcmp/vaultcmp/api/v1beta1"
)

// Names shared by generate and the companion.
const (
	// Version is the contract version this package reads and writes.
	Version = "v1"
	// SecretType is the carrier Secret's type.
	SecretType = "vaultcmp.io/contract-v1"
	// AnnotationContract is the carrier's annotation that holds the
	// contract's JSON: readable in Argo CD's diff, which masks Secret data.
	AnnotationContract = "vaultcmp.io/contract"
	// LabelContract selects carriers; its value is the contract version.
	LabelContract = "vaultcmp.io/contract"
	// LabelDelivery says who writes the destination's data: "in-cluster"
	// (the companion) or "inline" (Argo CD; the companion only watches Vault).
	LabelDelivery = "vaultcmp.io/delivery"
	// DeliveryInline and DeliveryInCluster are LabelDelivery's values.
	DeliveryInline    = "inline"
	DeliveryInCluster = "in-cluster"
	// LabelManagedBy is ManagedBy on every Secret vaultcmp writes: carriers
	// and inline Secrets (generate), destinations the companion creates.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "vaultcmp"
	// AnnotationOwner names, as Owner writes it (Kind/name), the object a
	// Secret vaultcmp writes was rendered from.
	AnnotationOwner = "vaultcmp.io/owner"
	// AnnotationDestination names, on a carrier, the destination Secret.
	AnnotationDestination = "vaultcmp.io/destination"
	// AnnotationKVVersion and AnnotationDataHMAC are, on a carrier of a
	// VaultStaticSecret, the kv-v2 version generate read, or a keyed HMAC of
	// the kv-v1 data: a change in Vault shows as a diff with no value in it.
	AnnotationKVVersion = "vaultcmp.io/kv-version"
	AnnotationDataHMAC  = "vaultcmp.io/data-hmac"
	// MaxSize bounds a contract's JSON: larger carriers are refused.
	MaxSize = 128 << 10
)

// V1 is the contract, version v1: everything the companion needs to fill or
// watch one destination Secret, resolved by generate, with no secret value.
type V1 struct {
	// Version is always [Version].
	Version string `json:"version"`
	// Delivery is DeliveryInCluster (the companion writes the destination's
	// data) or DeliveryInline (Argo CD writes it; the companion asks Argo CD
	// for a hard refresh when the KV data changes, and restarts the rollout
	// targets Argo CD's sync does not: argo Rollouts and workloads outside
	// the app).
	Delivery string `json:"delivery"`
	// Object is the Vault object, as written in git.
	Object Object `json:"object"`
	// Connection is its resolved VaultConnection.
	Connection Connection `json:"connection"`
	// Auth is its resolved VaultAuth; nil when the render used VAULT_TOKEN
	// and no VaultAuth applies (the companion then cannot log in).
	Auth *Auth `json:"auth,omitempty"`
	// Transformations are the SecretTransformations the object's
	// destination.transformation.transformationRefs name, in order.
	Transformations []Transformation `json:"transformations,omitempty"`
	// RolloutTargets are the object's rolloutRestartTargets, in its namespace.
	RolloutTargets []v1beta1.RolloutRestartTarget `json:"rolloutTargets,omitempty"`
	// Static is set for VaultStaticSecrets: what generate saw in Vault.
	Static *StaticState `json:"static,omitempty"`
	// Application is the Argo CD Application that owns the carrier
	// (ARGOCD_APP_NAME when generate rendered it; empty from render): the
	// only one the companion asks Argo CD to refresh. Sealed with the rest.
	Application string `json:"application,omitempty"`
}

// Object is the Vault object: exactly one of the specs is set, after Kind.
type Object struct {
	Kind        string            `json:"kind"`
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Labels      map[string]string `json:"labels,omitempty"`      // the object's own: templates see them
	Annotations map[string]string `json:"annotations,omitempty"` // likewise

	Dynamic *v1beta1.VaultDynamicSecretSpec `json:"dynamic,omitempty"`
	PKI     *v1beta1.VaultPKISecretSpec     `json:"pki,omitempty"`
	Static  *v1beta1.VaultStaticSecretSpec  `json:"static,omitempty"`
}

// Destination is the object's destination.
func (o *Object) Destination() v1beta1.Destination {
	switch {
	case o.Dynamic != nil:
		return o.Dynamic.Destination
	case o.PKI != nil:
		return o.PKI.Destination
	case o.Static != nil:
		return o.Static.Destination
	}
	return v1beta1.Destination{}
}

// Connection is a resolved VaultConnection. The CA is named, never inlined:
// the companion reads key ca.crt of Secret CACertSecretRef in the carrier's
// namespace.
type Connection struct {
	Address         string            `json:"address"`
	Headers         map[string]string `json:"headers,omitempty"`
	TLSServerName   string            `json:"tlsServerName,omitempty"`
	CACertSecretRef string            `json:"caCertSecretRef,omitempty"`
	SkipTLSVerify   bool              `json:"skipTLSVerify,omitempty"`
	Timeout         string            `json:"timeout,omitempty"` // a Go duration
}

// Auth is a resolved VaultAuth. Secrets are named, never inlined; every name
// is in the carrier's namespace.
type Auth struct {
	Method         string            `json:"method"` // kubernetes, jwt, appRole, aws, gcp
	Mount          string            `json:"mount"`
	Namespace      string            `json:"namespace,omitempty"`      // Vault namespace of the login
	Role           string            `json:"role,omitempty"`           // kubernetes/jwt role; appRole: the role id
	ServiceAccount string            `json:"serviceAccount,omitempty"` // aws: the irsaServiceAccount; gcp: the workloadIdentityServiceAccount
	Audiences      []string          `json:"audiences,omitempty"`
	TokenSeconds   int64             `json:"tokenExpirationSeconds,omitempty"`
	Headers        map[string]string `json:"headers,omitempty"`
	SecretRef      *SecretKeyRef     `json:"secretRef,omitempty"` // appRole secret-id, jwt token; aws: the keys' Secret (no key)
	AWS            *AWSAuth          `json:"aws,omitempty"`       // method aws only
	GCP            *GCPAuth          `json:"gcp,omitempty"`       // method gcp only
}

// GCPAuth is the rest of a gcp VaultAuth (spec.gcp): the GKE cluster whose
// workload identity pool the app's service account belongs to (its
// workloadIdentityServiceAccount is Auth.ServiceAccount).
type GCPAuth struct {
	ProjectID   string `json:"projectID,omitempty"`
	Region      string `json:"region,omitempty"` // the cluster's location
	ClusterName string `json:"clusterName,omitempty"`
}

// AWSAuth is the rest of an aws VaultAuth (spec.aws): which STS endpoint
// and region the login is signed for. An endpoint here is used only when
// the operator allows it (see identity's AWS settings).
type AWSAuth struct {
	Region      string `json:"region,omitempty"`
	HeaderValue string `json:"headerValue,omitempty"`
	SessionName string `json:"sessionName,omitempty"`
	STSEndpoint string `json:"stsEndpoint,omitempty"`
	IAMEndpoint string `json:"iamEndpoint,omitempty"`
}

// SecretKeyRef names one key of a Secret in the carrier's namespace.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// Transformation is one resolved SecretTransformation.
type Transformation struct {
	Name      string                           `json:"name"`
	Namespace string                           `json:"namespace"`
	Spec      v1beta1.SecretTransformationSpec `json:"spec"`
}

// AsObject is the SecretTransformation that transform takes.
func (t Transformation) AsObject() *v1beta1.SecretTransformation {
	st := &v1beta1.SecretTransformation{Spec: t.Spec}
	st.APIVersion, st.Kind = v1beta1.APIVersion, v1beta1.KindSecretTransformation
	st.Name, st.Namespace = t.Name, t.Namespace
	return st
}

// StaticState is what generate saw of a KV secret: its kv-v2 version, or
// for kv-v1 a keyed HMAC of the Secret's data (the installation's key). It
// never holds a value; it changes when the data in Vault changes, so the
// carrier changes too (a visible diff in Argo CD with no value in it).
type StaticState struct {
	KVVersion int    `json:"kvVersion,omitempty"`
	DataHMAC  string `json:"dataHMAC,omitempty"`
}

// Marshal is the contract's canonical JSON: the same contract always gives
// the same bytes (struct fields in declaration order, map keys sorted).
func (c *V1) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encoding the contract of %s %s: %w", c.Object.Kind, c.Object.Name, err)
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ErrUnknownVersion is returned for a carrier of a version this build does
// not read.
var ErrUnknownVersion = errors.New("unknown contract version")

// Parse reads a carrier's contract: an unknown version or a missing required
// field is an error; unknown fields are ignored (a newer generate may add
// fields within the same version).
func Parse(secretType string, b []byte) (*V1, error) {
	if secretType != SecretType {
		return nil, fmt.Errorf("%w: carrier type %q (this companion reads %q)", ErrUnknownVersion, secretType, SecretType)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("contract is %d bytes, more than the limit of %d", len(b), MaxSize)
	}
	var probe struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("reading the contract: %w", err)
	}
	if probe.Version != Version {
		return nil, fmt.Errorf("%w: %q (this companion reads %q)", ErrUnknownVersion, probe.Version, Version)
	}
	var c V1
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("reading the contract: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks what the companion relies on, then holds the contract to
// the rules of the VSO objects it came from (validateRules).
func (c *V1) Validate() error {
	o := &c.Object
	n := 0
	for _, set := range []bool{o.Dynamic != nil, o.PKI != nil, o.Static != nil} {
		if set {
			n++
		}
	}
	want := map[string]bool{
		v1beta1.KindVaultDynamicSecret: o.Dynamic != nil,
		v1beta1.KindVaultPKISecret:     o.PKI != nil,
		v1beta1.KindVaultStaticSecret:  o.Static != nil,
	}
	switch {
	case o.Name == "" || o.Namespace == "":
		return errors.New("contract: object.name and object.namespace are required")
	case n != 1 || !want[o.Kind]:
		return fmt.Errorf("contract: object of kind %q must carry exactly its own spec", o.Kind)
	case c.Delivery != DeliveryInCluster && c.Delivery != DeliveryInline:
		return fmt.Errorf("contract: delivery %q is neither %q nor %q", c.Delivery, DeliveryInCluster, DeliveryInline)
	case c.Delivery == DeliveryInline && o.Static == nil:
		return errors.New("contract: only a VaultStaticSecret can be delivered inline")
	case c.Connection.Address == "":
		return errors.New("contract: connection.address is required")
	case o.Destination().Name == "":
		return errors.New("contract: the object's destination.name is required")
	}
	if c.Connection.Timeout != "" {
		if _, err := time.ParseDuration(c.Connection.Timeout); err != nil {
			return fmt.Errorf("contract: connection.timeout: %w", err)
		}
	}
	return c.validateRules()
}

// CarrierName is the carrier Secret's name for an object: its kind's short
// name and the object's name, so objects of different kinds never collide.
func CarrierName(kind, name string) string {
	short := map[string]string{
		v1beta1.KindVaultDynamicSecret: "vds",
		v1beta1.KindVaultPKISecret:     "pki",
		v1beta1.KindVaultStaticSecret:  "vss",
	}[kind]
	return "vaultcmp-" + short + "." + name
}

// DataHMAC is the keyed HMAC-SHA256 of a Secret's data, hex: each key and
// value in key order, each preceded by its length. It changes exactly when
// the data changes and tells nothing about the data without the key. The
// renderer's rollout checksums and StaticState.DataHMAC are this value,
// computed by generate and by the companion alike.
func DataHMAC(key []byte, data map[string][]byte) string {
	mac := hmac.New(sha256.New, key)
	var n [8]byte
	for _, k := range slices.Sorted(maps.Keys(data)) {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		mac.Write(n[:])
		mac.Write([]byte(k))
		binary.BigEndian.PutUint64(n[:], uint64(len(data[k])))
		mac.Write(n[:])
		mac.Write(data[k])
	}
	return hex.EncodeToString(mac.Sum(nil))
}
