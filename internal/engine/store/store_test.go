package store

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// impls are the implementations that the shared suite runs against.
var impls = []struct {
	name string
	new  func(t *testing.T) Store
}{
	{"mem", func(t *testing.T) Store { return NewMem() }},
	{"file", func(t *testing.T) Store {
		f, err := NewFile(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}},
}

func TestStore(t *testing.T) {
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			t.Run("get missing", func(t *testing.T) {
				s := impl.new(t)
				_, err := s.Get("functions/default/hello")
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("Get of a missing key: err = %v, want ErrNotFound", err)
				}
				if want := `get key "functions/default/hello": not found`; err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
			})
			t.Run("put get overwrite", func(t *testing.T) {
				s := impl.new(t)
				mustPut(t, s, "functions/default/hello", "v1")
				mustGet(t, s, "functions/default/hello", "v1")
				mustPut(t, s, "functions/default/hello", "v2")
				mustGet(t, s, "functions/default/hello", "v2")
			})
			t.Run("values are copied", func(t *testing.T) {
				s := impl.new(t)
				in := []byte("abc")
				if err := s.Put("k", in); err != nil {
					t.Fatal(err)
				}
				in[0] = 'X'
				got, err := s.Get("k")
				if err != nil {
					t.Fatal(err)
				}
				got[1] = 'Y'
				mustGet(t, s, "k", "abc")
				ents, err := s.List("")
				if err != nil {
					t.Fatal(err)
				}
				ents[0].Value[2] = 'Z'
				mustGet(t, s, "k", "abc")
			})
			t.Run("delete", func(t *testing.T) {
				s := impl.new(t)
				mustPut(t, s, "a/b", "1")
				if err := s.Delete("a/b"); err != nil {
					t.Fatalf("Delete: %v", err)
				}
				if _, err := s.Get("a/b"); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get after Delete: err = %v, want ErrNotFound", err)
				}
				err := s.Delete("a/b")
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("second Delete: err = %v, want ErrNotFound", err)
				}
				if want := `delete key "a/b": not found`; err.Error() != want {
					t.Errorf("error = %q, want %q", err, want)
				}
			})
			t.Run("empty value", func(t *testing.T) {
				s := impl.new(t)
				for _, v := range [][]byte{nil, {}} {
					err := s.Put("k", v)
					if !errors.Is(err, ErrEmptyValue) {
						t.Fatalf("Put(%q): err = %v, want ErrEmptyValue", v, err)
					}
					if want := `put key "k": empty value; use Delete to remove a key`; err.Error() != want {
						t.Errorf("error = %q, want %q", err, want)
					}
				}
			})
			t.Run("list", func(t *testing.T) {
				s := impl.new(t)
				keys := []string{
					"functions/default/hello", "functions/default/hello-2", "functions/default/bye",
					"functions/prod/hello", "functions-old/x", "functions.bak", "triggers/http/default/t1",
				}
				for _, k := range keys {
					mustPut(t, s, k, "v:"+k)
				}
				tests := []struct {
					prefix string
					want   []string
				}{
					{"", []string{"functions-old/x", "functions.bak", "functions/default/bye",
						"functions/default/hello", "functions/default/hello-2", "functions/prod/hello",
						"triggers/http/default/t1"}},
					{"functions/", []string{"functions/default/bye", "functions/default/hello",
						"functions/default/hello-2", "functions/prod/hello"}},
					{"functions/default/", []string{"functions/default/bye", "functions/default/hello",
						"functions/default/hello-2"}},
					{"functions/default/hello", []string{"functions/default/hello", "functions/default/hello-2"}},
					{"functions/default/h", []string{"functions/default/hello", "functions/default/hello-2"}},
					{"functions", []string{"functions-old/x", "functions.bak", "functions/default/bye",
						"functions/default/hello", "functions/default/hello-2", "functions/prod/hello"}},
					{"nothing/", nil},
				}
				for _, tt := range tests {
					ents, err := s.List(tt.prefix)
					if err != nil {
						t.Fatalf("List(%q): %v", tt.prefix, err)
					}
					var got []string
					for _, e := range ents {
						got = append(got, e.Key)
						if string(e.Value) != "v:"+e.Key {
							t.Errorf("List(%q): value of %q = %q", tt.prefix, e.Key, e.Value)
						}
					}
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("List(%q) keys (-want +got):\n%s", tt.prefix, diff)
					}
				}
			})
			t.Run("invalid keys", func(t *testing.T) {
				s := impl.new(t)
				for _, key := range []string{"", "/a", "a/", "a//b", "a/../b", "A", "a b", ".a", "a/.b"} {
					calls := map[string]error{}
					_, calls["Get"] = s.Get(key)
					calls["Put"] = s.Put(key, []byte("v"))
					calls["Delete"] = s.Delete(key)
					if key != "" && key != "a/" {
						_, calls["List"] = s.List(key)
					}
					for name, err := range calls {
						var ke *KeyError
						if !errors.As(err, &ke) || !errors.Is(err, ErrInvalidKey) || ke.Key != key {
							t.Errorf("%s(%q): err = %v, want a *KeyError for the key", name, key, err)
						}
					}
				}
				if ents, err := s.List(""); err != nil || len(ents) != 0 {
					t.Errorf("List after invalid puts = %v, %v; want nothing", ents, err)
				}
			})
			t.Run("concurrent use", func(t *testing.T) {
				s := impl.new(t)
				var wg sync.WaitGroup
				for w := range 4 {
					wg.Go(func() {
						for i := range 20 {
							key := fmt.Sprintf("functions/ns%d/f%d", w, i%5)
							val := []byte(fmt.Sprintf("%d-%d", w, i))
							if err := s.Put(key, val); err != nil {
								t.Error(err)
								return
							}
							if _, err := s.Get(key); err != nil {
								t.Error(err)
							}
							if _, err := s.List("functions/"); err != nil {
								t.Error(err)
							}
							if i%7 == 6 {
								if err := s.Delete(key); err != nil {
									t.Error(err)
								}
							}
						}
					})
				}
				wg.Wait()
				ents, err := s.List("")
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ents {
					if !bytes.HasPrefix(e.Value, []byte(strings.TrimPrefix(strings.Split(e.Key, "/")[1], "ns"))) {
						t.Errorf("key %q has the value %q of another writer", e.Key, e.Value)
					}
				}
			})
		})
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		key     string
		wantErr string // the reason; "" for a valid key
	}{
		{"functions/default/hello", ""},
		{"a", ""},
		{"0/x_y.z-1", ""},
		{"f/a..b", ""},
		{strings.Repeat("a", 250), ""},
		{strings.Repeat("a", 251), "longer than 250 bytes"},
		{"", "empty key"},
		{"/functions", "leading slash"},
		{"functions/", "trailing slash"},
		{"functions//hello", "segment 2 is empty"},
		{"functions/../etc", `segment 2 is ".."`},
		{"./a", `segment 1 is "."`},
		{"functions/Hello", `segment 2 "Hello" has the character 'H'`},
		{"functions/he llo", `segment 2 "he llo" has the character ' '`},
		{`functions\x`, `segment 1 "functions\\x" has the character '\\'`},
		{"a+b", `segment 1 "a+b" has the character '+'`},
		{"functions/-x", `segment 2 "-x" starts with '-'`},
		{"functions/.hidden", `segment 2 ".hidden" starts with '.'`},
		{"functions/é", `segment 2 "é" has the character 'é'`},
	}
	for _, tt := range tests {
		err := ValidateKey(tt.key)
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("ValidateKey(%q) = %v, want nil", tt.key, err)
			}
			continue
		}
		var ke *KeyError
		if !errors.As(err, &ke) || !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidateKey(%q) = %v, want a *KeyError", tt.key, err)
			continue
		}
		if ke.Reason != tt.wantErr {
			t.Errorf("ValidateKey(%q) reason = %q, want %q", tt.key, ke.Reason, tt.wantErr)
		}
	}
	want := `invalid key "functions//hello": segment 2 is empty; a key is slash-separated segments ` +
		`of [a-z0-9._-] that start with a letter or digit, like "functions/default/hello"`
	if got := ValidateKey("functions//hello").Error(); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func mustPut(t *testing.T, s Store, key, val string) {
	t.Helper()
	if err := s.Put(key, []byte(val)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustGet(t *testing.T, s Store, key, want string) {
	t.Helper()
	got, err := s.Get(key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}
