package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// ChecksumPrefix is the only checksum algorithm a Function may name.
const ChecksumPrefix = "sha256:"

// Checksum returns "sha256:<hex>" of data, the form of a Function's
// "checksum" field.
func Checksum(data []byte) string {
	sum := sha256.Sum256(data)
	return ChecksumPrefix + hex.EncodeToString(sum[:])
}

// ChecksumFormatError is returned by VerifyChecksum for a checksum that is not
// "sha256:" followed by 64 hexadecimal digits. For a value without the
// "sha256:" prefix its text is the original Kubeless message, byte for byte:
// "Unable to verify checksum <value>: Unknown format".
type ChecksumFormatError struct {
	Value string
}

func (e *ChecksumFormatError) Error() string {
	if !strings.HasPrefix(e.Value, ChecksumPrefix) {
		return fmt.Sprintf("Unable to verify checksum %s: Unknown format", e.Value)
	}
	return fmt.Sprintf("checksum %q: want 64 hexadecimal digits after %q", e.Value, ChecksumPrefix)
}

// ChecksumMismatchError is returned by VerifyChecksum when the bytes do not
// have the expected checksum. Both fields are in "sha256:<hex>" form, the hex
// in lower case.
type ChecksumMismatchError struct {
	Expected string
	Actual   string
}

func (e *ChecksumMismatchError) Error() string {
	return fmt.Sprintf("checksum mismatch: expected %s, got %s", e.Expected, e.Actual)
}

// VerifyChecksum checks data against want ("sha256:<hex>", hex in either
// case). An empty want verifies nothing and returns nil, as the original did.
func VerifyChecksum(data []byte, want string) error {
	if want == "" {
		return nil
	}
	hexPart, ok := strings.CutPrefix(want, ChecksumPrefix)
	if !ok {
		return &ChecksumFormatError{Value: want}
	}
	if len(hexPart) != sha256.Size*2 {
		return &ChecksumFormatError{Value: want}
	}
	if _, err := hex.DecodeString(hexPart); err != nil {
		return &ChecksumFormatError{Value: want}
	}
	expected := ChecksumPrefix + strings.ToLower(hexPart)
	if got := Checksum(data); got != expected {
		return &ChecksumMismatchError{Expected: expected, Actual: got}
	}
	return nil
}
