package source

import (
	"context"
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	fetch := func(_ context.Context, url string) ([]byte, error) { return []byte("from " + url), nil }
	hi := "sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4" // sha256 of "hi"
	tests := []struct {
		name, function, ct, checksum string
		fetch                        FetchFunc
		want, wantErr                string
	}{
		{name: "text", function: "hi", ct: "text", checksum: hi, want: "hi"},
		{name: "base64 with line breaks", function: "aG\nk=\n", ct: "base64", want: "hi"},
		{name: "bad base64", function: "!!", ct: "base64", wantErr: "decode base64 function: illegal base64 data at input byte 0"},
		{name: "url", function: " https://example.test/f.py ", ct: "url", fetch: fetch, want: "from https://example.test/f.py"},
		{name: "url without fetch", function: "https://example.test/f.py", ct: "url",
			wantErr: `content type "url": the code at https://example.test/f.py cannot be downloaded here`},
		{name: "not a url", function: "f.py", ct: "url", fetch: fetch, wantErr: `content type "url": function "f.py" is not an http:// or https:// URL`},
		{name: "checksum mismatch", function: "ho", ct: "text", checksum: hi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct, err := ParseContentType(tt.ct)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(context.Background(), tt.function, ct, tt.checksum, tt.fetch)
			if tt.name == "checksum mismatch" {
				var m *ChecksumMismatchError
				if !errors.As(err, &m) {
					t.Fatalf("err = %v, want a ChecksumMismatchError", err)
				}
				return
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Decode = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
