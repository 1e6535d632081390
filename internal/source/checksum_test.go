package source

import (
	"errors"
	"strings"
	"testing"
)

func TestChecksum(t *testing.T) {
	// sha256 of "hello", as printed by sha256sum.
	const hello = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	if got := Checksum([]byte("hello")); got != hello {
		t.Fatalf("Checksum = %q, want %q", got, hello)
	}
}

func TestVerifyChecksum(t *testing.T) {
	const hello = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	other := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		data     string
		checksum string
		wantErr  string
	}{
		{name: "empty checksum verifies nothing", data: "anything", checksum: ""},
		{name: "match", data: "hello", checksum: hello},
		{name: "match upper-case hex", data: "hello", checksum: "sha256:" + strings.ToUpper(strings.TrimPrefix(hello, "sha256:"))},
		{name: "other algorithm", data: "hello", checksum: "md5:5d41402abc4b2a76b9719d911017c592", wantErr: "Unable to verify checksum md5:5d41402abc4b2a76b9719d911017c592: Unknown format"},
		{name: "no prefix", data: "hello", checksum: "2cf24dba", wantErr: "Unable to verify checksum 2cf24dba: Unknown format"},
		{name: "upper-case prefix", data: "hello", checksum: "SHA256:2cf2", wantErr: "Unable to verify checksum SHA256:2cf2: Unknown format"},
		{name: "short hex", data: "hello", checksum: "sha256:2cf2", wantErr: `checksum "sha256:2cf2": want 64 hexadecimal digits after "sha256:"`},
		{name: "not hex", data: "hello", checksum: "sha256:" + strings.Repeat("zz", 32), wantErr: `checksum "sha256:` + strings.Repeat("zz", 32) + `": want 64 hexadecimal digits after "sha256:"`},
		{name: "mismatch", data: "hello", checksum: other, wantErr: "checksum mismatch: expected " + other + ", got " + hello},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyChecksum([]byte(tt.data), tt.checksum)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyChecksum: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("VerifyChecksum error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	var mm *ChecksumMismatchError
	if err := VerifyChecksum([]byte("x"), other); !errors.As(err, &mm) || mm.Expected != other {
		t.Errorf("mismatch error = %#v, want *ChecksumMismatchError with Expected %s", err, other)
	}
}
