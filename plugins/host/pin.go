package host

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"os"
	"os/exec"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// verifyExecutable reads the executable cmd will run and checks it against
// spec's pinned SHA-256, returning its bytes. A mismatch is permanent: the
// file will not change by itself.
func verifyExecutable(spec Spec, cmd *exec.Cmd) ([]byte, error) {
	raw, err := os.ReadFile(cmd.Path)
	if err != nil {
		return nil, fmt.Errorf("launch %s: read it to check its checksum: %w", spec.Command[0], err)
	}
	sum := sha256.Sum256(raw)
	if subtle.ConstantTimeCompare(sum[:], spec.Checksum) != 1 {
		return nil, fmt.Errorf("launch %s: %w: %w", spec.Command[0], ErrChecksumMismatch, sdk.ErrPermanent)
	}
	return raw, nil
}
