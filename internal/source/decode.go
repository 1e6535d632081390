package source

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
)

// FetchFunc downloads the code of a url content type.
type FetchFunc func(ctx context.Context, url string) ([]byte, error)

// Decode returns the bytes of a function's code: the text itself, the
// decoded base64 (whitespace and line breaks are ignored, as base64 -d
// does), or the content downloaded from the URL with fetch. When checksum is
// set, the bytes are verified against it. A nil fetch refuses a URL.
func Decode(ctx context.Context, function string, ct ContentType, checksum string, fetch FetchFunc) ([]byte, error) {
	var code []byte
	switch ct.Encoding {
	case EncodingText:
		code = []byte(function)
	case EncodingBase64:
		clean := strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, function)
		b, err := base64.StdEncoding.DecodeString(clean)
		if err != nil {
			return nil, fmt.Errorf("decode base64 function: %w", err)
		}
		code = b
	case EncodingURL:
		url := strings.TrimSpace(function)
		if !IsURL(url) {
			return nil, fmt.Errorf("content type %q: function %q is not an http:// or https:// URL", ct, url)
		}
		if fetch == nil {
			return nil, fmt.Errorf("content type %q: the code at %s cannot be downloaded here", ct, url)
		}
		b, err := fetch(ctx, url)
		if err != nil {
			return nil, err
		}
		code = b
	default:
		return nil, &ContentTypeError{Value: ct.String()}
	}
	if err := VerifyChecksum(code, checksum); err != nil {
		return nil, err
	}
	return code, nil
}
