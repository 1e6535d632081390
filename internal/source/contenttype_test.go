package source

import (
	"testing"
)

func TestParseContentType(t *testing.T) {
	tests := []struct {
		in        string
		want      ContentType
		canonical string
		wantErr   string
	}{
		{in: "", want: ContentType{Encoding: EncodingText}, canonical: "text"},
		{in: "text", want: ContentType{Encoding: EncodingText}, canonical: "text"},
		{in: "base64", want: ContentType{Encoding: EncodingBase64}, canonical: "base64"},
		{in: "url", want: ContentType{Encoding: EncodingURL}, canonical: "url"},
		{in: "base64+zip", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveZip}, canonical: "base64+zip"},
		{in: "base64+compressedtar", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveTar}, canonical: "base64+compressedtar"},
		{in: "url+zip", want: ContentType{Encoding: EncodingURL, Archive: ArchiveZip}, canonical: "url+zip"},
		{in: "url+compressedtar", want: ContentType{Encoding: EncodingURL, Archive: ArchiveTar}, canonical: "url+compressedtar"},
		{in: "text+zip", want: ContentType{Encoding: EncodingText, Archive: ArchiveZip}, canonical: "text+zip"},
		{in: "base64+zip+deps", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveZip, Deps: true}, canonical: "base64+zip+deps"},
		{in: "url+compressedtar+deps", want: ContentType{Encoding: EncodingURL, Archive: ArchiveTar, Deps: true}, canonical: "url+compressedtar+deps"},
		{in: "base64+deps+zip", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveZip, Deps: true}, canonical: "base64+zip+deps"},
		// The forms the original took by looking for the words.
		{in: "url+text", want: ContentType{Encoding: EncodingURL}, canonical: "url"},
		{in: "text+url", want: ContentType{Encoding: EncodingURL}, canonical: "url"},
		{in: "text+base64+zip", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveZip}, canonical: "base64+zip"},
		{in: "zip+base64", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveZip}, canonical: "base64+zip"},
		{in: "deps+compressedtar+url", want: ContentType{Encoding: EncodingURL, Archive: ArchiveTar, Deps: true}, canonical: "url+compressedtar+deps"},
		{in: "base64+zip+zip", want: ContentType{Encoding: EncodingBase64, Archive: ArchiveZip}, canonical: "base64+zip"},
		{in: "text+text", want: ContentType{Encoding: EncodingText}, canonical: "text"},
		{in: "binary", wantErr: "Unable to prepare function of type binary: Unknown format"},
		{in: "Text", wantErr: "Unable to prepare function of type Text: Unknown format"},
		{in: "zip", wantErr: "Unable to prepare function of type zip: Unknown format"},
		{in: "base64+rar", wantErr: "Unable to prepare function of type base64+rar: Unknown format"},
		{in: "base64+", wantErr: "Unable to prepare function of type base64+: Unknown format"},
		{in: "zip+deps", wantErr: "Unable to prepare function of type zip+deps: Unknown format"},
		{in: "url text", wantErr: "Unable to prepare function of type url text: Unknown format"},
		{in: "base64+url", wantErr: `content type "base64+url": base64 and url exclude each other (the function is either the base64 of the code or a URL to download it from)`},
		{in: "base64+zip+compressedtar", wantErr: `content type "base64+zip+compressedtar": +zip and +compressedtar exclude each other`},
		{in: "text+deps", wantErr: `content type "text+deps": +deps needs +zip or +compressedtar (the dependency file is read from the archive)`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseContentType(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseContentType(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseContentType(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseContentType(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if got.String() != tt.canonical {
				t.Errorf("String() = %q, want %q", got.String(), tt.canonical)
			}
			if got.IsArchive() != (tt.want.Archive != ArchiveNone) {
				t.Errorf("IsArchive() = %v", got.IsArchive())
			}
		})
	}
}

func TestDetectContentType(t *testing.T) {
	text := []byte("def foo(event, context):\n    return 'hé'\n")
	binary := []byte{0xff, 0xfe, 0x00, 0x01}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{name: "hello.py", data: text, want: "text"},
		{name: "hello.bin", data: binary, want: "base64"},
		{name: "func.zip", data: binary, want: "base64+zip"},
		{name: "FUNC.ZIP", data: binary, want: "base64+zip"},
		{name: "func.zip", data: []byte("PK looks like text"), want: "base64+zip"},
		{name: "func.tar.gz", data: binary, want: "base64+compressedtar"},
		{name: "func.tgz", data: binary, want: "base64+compressedtar"},
		{name: "func.taz", data: binary, want: "base64+compressedtar"},
		{name: "func.tar.bz2", data: binary, want: "base64+compressedtar"},
		{name: "func.tb2", data: binary, want: "base64+compressedtar"},
		{name: "func.tbz", data: binary, want: "base64+compressedtar"},
		{name: "func.tbz2", data: binary, want: "base64+compressedtar"},
		{name: "func.tz2", data: binary, want: "base64+compressedtar"},
		{name: "func.tar.xz", data: binary, want: "base64+compressedtar"},
		{name: "func.txz", data: binary, want: "base64+compressedtar"},
		{name: "func.tar", data: binary, want: "base64"},
		{name: "dir.zip/hello.py", data: text, want: "text"},
		{name: "https://example.test/f/hello.py", want: "url"},
		{name: "http://example.test/f/func.zip", want: "url+zip"},
		{name: "https://example.test/f/func.zip?sig=a.tgz", want: "url+zip"},
		{name: "https://example.test/f/func.tar.gz?x=1", want: "url+compressedtar"},
		{name: "https://example.test/download?file=func.zip", want: "url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectContentType(tt.name, tt.data)
			if got.String() != tt.want {
				t.Errorf("DetectContentType(%q) = %q, want %q", tt.name, got, tt.want)
			}
			if _, err := ParseContentType(got.String()); err != nil {
				t.Errorf("detected content type does not parse: %v", err)
			}
		})
	}
}
