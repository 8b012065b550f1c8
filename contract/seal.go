package contract

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// AnnotationSeal holds a carrier's seal: generate's keyed HMAC (the
// installation's key) over the carrier's namespace, name and contract. The
// companion acts only on a carrier whose seal verifies, so a carrier written
// by hand, or copied to another namespace or name, does nothing.
const AnnotationSeal = "vaultcmp.io/seal"

// Purposes of the keyed MACs this package makes with the installation's
// key: one key, several MACs that can never stand in for one another.
const (
	purposeCarrier = "vaultcmp.io/seal/carrier/v1"
	purposeState   = "vaultcmp.io/seal/state/v1"
)

// ErrUnsealed is returned for a carrier without a seal; ErrBadSeal for one
// whose seal does not verify (written by hand, copied, edited, or sealed
// with another installation's key).
var (
	ErrUnsealed = errors.New("the carrier has no seal (annotation " + AnnotationSeal + "): only carriers written by vaultcmp generate/render with this installation's key are acted on")
	ErrBadSeal  = errors.New("the carrier's seal does not verify: it was written by hand, copied from another place, edited after generate, or sealed with another installation's key")
)

// Seal is the seal of a carrier named name in namespace holding the
// contract's canonical JSON.
func Seal(key []byte, namespace, name string, contractJSON []byte) string {
	return mac(key, purposeCarrier, []byte(namespace), []byte(name), contractJSON)
}

// CheckSeal verifies a carrier's seal in constant time.
func CheckSeal(key []byte, namespace, name string, contractJSON []byte, seal string) error {
	if seal == "" {
		return ErrUnsealed
	}
	return checkMAC(Seal(key, namespace, name, contractJSON), seal)
}

// SealState is the seal of the companion's own state on a carrier: bound to
// the carrier's namespace, name and uid, so a state copied from another
// carrier, or written by hand, does not verify.
func SealState(key []byte, namespace, name, uid string, state []byte) string {
	return mac(key, purposeState, []byte(namespace), []byte(name), []byte(uid), state)
}

// CheckStateSeal verifies a state seal in constant time.
func CheckStateSeal(key []byte, namespace, name, uid string, state []byte, seal string) error {
	if seal == "" {
		return fmt.Errorf("the state has no seal")
	}
	return checkMAC(SealState(key, namespace, name, uid, state), seal)
}

func checkMAC(want, got string) error {
	if !hmac.Equal([]byte(want), []byte(got)) {
		return ErrBadSeal
	}
	return nil
}

// mac is HMAC-SHA256 over the purpose and each field, each preceded by its
// length (no two lists of fields give the same input), hex.
func mac(key []byte, purpose string, fields ...[]byte) string {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	for _, f := range append([][]byte{[]byte(purpose)}, fields...) {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		m.Write(n[:])
		m.Write(f)
	}
	return hex.EncodeToString(m.Sum(nil))
}
