package source

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Encoding says how the Function's "function" field carries the code.
type Encoding string

// The encodings of function-content-type.
const (
	// EncodingText: the field is the code itself (also the meaning of an
	// empty content type).
	EncodingText Encoding = "text"
	// EncodingBase64: the field is the standard base64 of the code's bytes.
	EncodingBase64 Encoding = "base64"
	// EncodingURL: the field is an http(s) URL from which the code is
	// downloaded.
	EncodingURL Encoding = "url"
)

// Archive says whether the decoded bytes are an archive to extract.
type Archive string

// The archive kinds of function-content-type.
const (
	// ArchiveNone: the bytes are the code file itself.
	ArchiveNone Archive = ""
	// ArchiveZip: the bytes are a zip archive ("+zip").
	ArchiveZip Archive = "zip"
	// ArchiveTar: the bytes are a tar archive, plain or compressed with
	// gzip, bzip2 or xz ("+compressedtar").
	ArchiveTar Archive = "compressedtar"
)

// ContentType is a parsed function-content-type such as "base64+zip+deps".
type ContentType struct {
	Encoding Encoding
	Archive  Archive
	// Deps is set by "+deps": the dependency file is inside the archive, so
	// the Function's "deps" field is not written over it.
	Deps bool
}

// IsArchive reports whether the code is an archive to extract.
func (c ContentType) IsArchive() bool { return c.Archive != ArchiveNone }

// String returns the canonical form: encoding, then "+zip" or
// "+compressedtar", then "+deps".
func (c ContentType) String() string {
	s := string(c.Encoding)
	if c.Archive != ArchiveNone {
		s += "+" + string(c.Archive)
	}
	if c.Deps {
		s += "+deps"
	}
	return s
}

// ContentTypeError is returned by ParseContentType. When Reason is empty the
// text is the original Kubeless message, byte for byte:
// "Unable to prepare function of type <ct>: Unknown format".
type ContentTypeError struct {
	Value  string
	Reason string
}

func (e *ContentTypeError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("Unable to prepare function of type %s: Unknown format", e.Value)
	}
	return fmt.Sprintf("content type %q: %s", e.Value, e.Reason)
}

// ParseContentType parses a function-content-type. The empty string means
// "text". It takes the forms the original Kubeless took, which looked for
// the words in the string: "+"-separated parts in any order, each one of
// text, base64, url (the encoding: base64 or url when given, otherwise
// text, so "url+text", which the original's maintainers told users to
// write, is "url"), zip, compressedtar and deps; a part given twice counts
// once. An unknown part, or no encoding, is the original's error. What the
// original read as something else is refused with the reason: base64 with
// url, zip with compressedtar, and deps without an archive (the dependency
// file is read from the archive).
func ParseContentType(s string) (ContentType, error) {
	if s == "" {
		return ContentType{Encoding: EncodingText}, nil
	}
	var c ContentType
	seen := map[string]bool{}
	for _, p := range strings.Split(s, "+") {
		switch p {
		case string(EncodingText), string(EncodingBase64), string(EncodingURL),
			string(ArchiveZip), string(ArchiveTar), "deps":
			seen[p] = true
		default:
			return ContentType{}, &ContentTypeError{Value: s}
		}
	}
	switch {
	case seen[string(EncodingBase64)] && seen[string(EncodingURL)]:
		return ContentType{}, &ContentTypeError{Value: s, Reason: "base64 and url exclude each other (the function is either the base64 of the code or a URL to download it from)"}
	case seen[string(EncodingBase64)]:
		c.Encoding = EncodingBase64
	case seen[string(EncodingURL)]:
		c.Encoding = EncodingURL
	case seen[string(EncodingText)]:
		c.Encoding = EncodingText
	default:
		return ContentType{}, &ContentTypeError{Value: s}
	}
	switch {
	case seen[string(ArchiveZip)] && seen[string(ArchiveTar)]:
		return ContentType{}, &ContentTypeError{Value: s, Reason: "+zip and +compressedtar exclude each other"}
	case seen[string(ArchiveZip)]:
		c.Archive = ArchiveZip
	case seen[string(ArchiveTar)]:
		c.Archive = ArchiveTar
	}
	c.Deps = seen["deps"]
	if c.Deps && c.Archive == ArchiveNone {
		return ContentType{}, &ContentTypeError{Value: s, Reason: "+deps needs +zip or +compressedtar (the dependency file is read from the archive)"}
	}
	return c, nil
}

// compressedTarExt are the file name endings that the original CLI took for
// a compressed tar archive, plus ".txz".
var compressedTarExt = []string{".tar.gz", ".taz", ".tgz", ".tar.bz2", ".tb2", ".tbz", ".tbz2", ".tz2", ".tar.xz", ".txz"}

// ArchiveFromName returns the archive kind that a file name or URL implies:
// ArchiveZip for ".zip", ArchiveTar for the compressed tar endings
// (.tar.gz, .taz, .tgz, .tar.bz2, .tb2, .tbz, .tbz2, .tz2, .tar.xz, .txz),
// otherwise ArchiveNone. For a URL, the query string and fragment are ignored.
func ArchiveFromName(name string) Archive {
	if IsURL(name) {
		if i := strings.IndexAny(name, "?#"); i >= 0 {
			name = name[:i]
		}
	}
	base := strings.ToLower(path.Base(name))
	if strings.HasSuffix(base, ".zip") {
		return ArchiveZip
	}
	for _, ext := range compressedTarExt {
		if strings.HasSuffix(base, ext) {
			return ArchiveTar
		}
	}
	return ArchiveNone
}

// IsURL reports whether s starts with "http://" or "https://".
func IsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// DetectContentType is the CLI's choice of content type for a function given
// as a file name (or an http(s) URL) and, for a file, its bytes:
//
//   - a URL gives "url", "url+zip" or "url+compressedtar" by its ending;
//   - an archive file (by its ending) gives "base64+zip" or
//     "base64+compressedtar";
//   - any other file gives "text" when its bytes are valid UTF-8 and
//     "base64" otherwise.
//
// "+deps" is never detected: it is the user's statement that the archive
// carries the dependency file.
func DetectContentType(name string, data []byte) ContentType {
	a := ArchiveFromName(name)
	if IsURL(name) {
		return ContentType{Encoding: EncodingURL, Archive: a}
	}
	if a != ArchiveNone || !utf8.Valid(data) {
		return ContentType{Encoding: EncodingBase64, Archive: a}
	}
	return ContentType{Encoding: EncodingText}
}
