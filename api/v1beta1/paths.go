package v1beta1

import "k8s.io/apimachinery/pkg/util/validation/field"

// Field paths of the fixed locations Validate checks in every object.
//
// Validate runs for every object of every render, and nearly every object is
// valid. Building a path per checked field (specPath.Child("mount"), ...) cost
// one or two allocations per field of every object even when nothing was
// reported: most of Validate's time. A *field.Path is immutable (Child, Index
// and Key return new paths and never change their receiver), so the paths of
// locations that exist once per object are built once here and shared by all
// calls. Paths below a list index or a map key (a rollout restart target, a
// template, a transformationRef) are built only when an error is reported
// there. Nothing here grows: there is no cache, only these fixed paths.
var (
	specPath = field.NewPath("spec")
	metaPath = field.NewPath("metadata")

	metaPaths = struct {
		name, namespace, labels, annotations *field.Path
	}{
		name:        metaPath.Child("name"),
		namespace:   metaPath.Child("namespace"),
		labels:      metaPath.Child("labels"),
		annotations: metaPath.Child("annotations"),
	}

	// specPaths holds the spec fields of VaultStaticSecret,
	// VaultDynamicSecret, VaultPKISecret and VaultConnection.
	specPaths = struct {
		vaultAuthRef, mount, path, typ, version, refreshAfter  *field.Path
		requestHTTPMethod, renewalPercent                      *field.Path
		role, issuerRef, expiryOffset, ttl, notAfter           *field.Path
		address, headers, caCertSecretRef, caCertPath, timeout *field.Path
		rolloutRestartTargets, sourceTemplates                 *field.Path
	}{
		vaultAuthRef:          specPath.Child("vaultAuthRef"),
		mount:                 specPath.Child("mount"),
		path:                  specPath.Child("path"),
		typ:                   specPath.Child("type"),
		version:               specPath.Child("version"),
		refreshAfter:          specPath.Child("refreshAfter"),
		requestHTTPMethod:     specPath.Child("requestHTTPMethod"),
		renewalPercent:        specPath.Child("renewalPercent"),
		role:                  specPath.Child("role"),
		issuerRef:             specPath.Child("issuerRef"),
		expiryOffset:          specPath.Child("expiryOffset"),
		ttl:                   specPath.Child("ttl"),
		notAfter:              specPath.Child("notAfter"),
		address:               specPath.Child("address"),
		headers:               specPath.Child("headers"),
		caCertSecretRef:       specPath.Child("caCertSecretRef"),
		caCertPath:            specPath.Child("caCertPath"),
		timeout:               specPath.Child("timeout"),
		rolloutRestartTargets: specPath.Child("rolloutRestartTargets"),
		sourceTemplates:       specPath.Child("sourceTemplates"),
	}

	// destinationPaths is spec.destination, the same in every kind that has
	// one.
	destinationPaths = newDestinationPaths(specPath.Child("destination"))

	// specTransformationPaths is the spec of a SecretTransformation, which
	// has the same templates, includes and excludes as a destination's
	// transformation.
	specTransformationPaths = newTransformationPaths(specPath)
)

// destinationFieldPaths are the fixed paths of a Destination.
type destinationFieldPaths struct {
	name, labels, annotations *field.Path
	transformation            transformationFieldPaths
}

func newDestinationPaths(p *field.Path) destinationFieldPaths {
	return destinationFieldPaths{
		name:           p.Child("name"),
		labels:         p.Child("labels"),
		annotations:    p.Child("annotations"),
		transformation: newTransformationPaths(p.Child("transformation")),
	}
}

// transformationFieldPaths are the fixed paths of a Transformation (or of a
// SecretTransformation's spec).
type transformationFieldPaths struct {
	templates, transformationRefs, includes, excludes *field.Path
}

func newTransformationPaths(p *field.Path) transformationFieldPaths {
	return transformationFieldPaths{
		templates:          p.Child("templates"),
		transformationRefs: p.Child("transformationRefs"),
		includes:           p.Child("includes"),
		excludes:           p.Child("excludes"),
	}
}
