package gateway

import (
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func shaOf(password string) string {
	sum := sha1.Sum([]byte(password))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestAPR1 checks the MD5 crypt against hashes made by
// `openssl passwd -apr1 -salt <salt> <password>`.
func TestAPR1(t *testing.T) {
	tests := []struct {
		password, salt, want string
	}{
		{"secret", "abcdefgh", "$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/"},
		{"", "xy", "$apr1$xy$43..WIhbfuznGvwoCyUek/"},
		{"a-much-longer-password-than-sixteen-bytes", "12345678", "$apr1$12345678$/Az/qRqc4UNrNHoqSr0bJ1"},
	}
	for _, tt := range tests {
		if got := apr1(tt.password, tt.salt); got != tt.want {
			t.Errorf("apr1(%q, %q) = %q, want %q", tt.password, tt.salt, got, tt.want)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	bc, err := bcrypt.GenerateFromPassword([]byte("bpass"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bcY := "$2y$" + strings.TrimPrefix(string(bc), "$2a$")
	a := echoBackend(t, "A")
	g := New(Options{})
	err = g.SetRoutes(Routes{
		Functions: []Function{{Name: "f", Backends: urls(a.URL)}},
		Triggers: []HTTPTrigger{{Name: "private", Function: "f", Path: "/private", BasicAuth: []string{
			"# htpasswd file",
			"",
			"bob:" + string(bc),
			"yves:" + bcY,
			"ann:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/",
			"sam:{SHA}" + shaOf("spass"),
			"sam:{SHA}" + shaOf("ignored second entry"),
		}}},
	})
	if err != nil {
		t.Fatalf("SetRoutes: %v", err)
	}
	base := front(t, g)
	const (
		missing = `HTTP trigger "private" requires basic authentication` + "\n"
		wrong   = `wrong user name or password for HTTP trigger "private"` + "\n"
	)
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		want       string
	}{
		{name: "bcrypt", auth: basic("bob", "bpass"), wantStatus: 200, want: "A GET /x"},
		{name: "bcrypt again (cached)", auth: basic("bob", "bpass"), wantStatus: 200, want: "A GET /x"},
		{name: "bcrypt $2y$", auth: basic("yves", "bpass"), wantStatus: 200, want: "A GET /x"},
		{name: "apr1", auth: basic("ann", "secret"), wantStatus: 200, want: "A GET /x"},
		{name: "sha", auth: basic("sam", "spass"), wantStatus: 200, want: "A GET /x"},
		{name: "bcrypt wrong password", auth: basic("bob", "nope"), wantStatus: 401, want: wrong},
		{name: "apr1 wrong password", auth: basic("ann", "Secret"), wantStatus: 401, want: wrong},
		{name: "sha wrong password", auth: basic("sam", "ignored second entry"), wantStatus: 401, want: wrong},
		{name: "unknown user", auth: basic("eve", "bpass"), wantStatus: 401, want: wrong},
		{name: "another user's password", auth: basic("bob", "spass"), wantStatus: 401, want: wrong},
		{name: "missing", wantStatus: 401, want: missing},
		{name: "not basic", auth: "Bearer abc", wantStatus: 401, want: missing},
		{name: "bad base64", auth: "Basic !!!", wantStatus: 401, want: missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.auth != "" {
				h.Set("Authorization", tt.auth)
			}
			got := send(t, base, "GET", "", "/private/x", nil, h)
			if got.status != tt.wantStatus || got.body != tt.want {
				t.Errorf("got %d %q, want %d %q", got.status, got.body, tt.wantStatus, tt.want)
			}
			wantChallenge := ""
			if tt.wantStatus == 401 {
				wantChallenge = `Basic realm="private"`
			}
			if c := got.header.Get("WWW-Authenticate"); c != wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", c, wantChallenge)
			}
		})
	}
}

func TestParseBasicAuthErrors(t *testing.T) {
	tests := []struct {
		name    string
		lines   []string
		wantErr string
	}{
		{name: "no colon", lines: []string{"justaname"}, wantErr: `basic auth entry "jus…" is not user:hash (an htpasswd line)`},
		{name: "empty user", lines: []string{":{SHA}" + shaOf("x")}, wantErr: `basic auth entry ":{S…" is not user:hash (an htpasswd line)`},
		{name: "plain text", lines: []string{"u:password"}, wantErr: `basic auth entry for user "u": unsupported password hash (plain text and crypt are refused): ` + acceptedHashes},
		{name: "crypt DES", lines: []string{"u:rl0uDFxHLcCv."}, wantErr: `basic auth entry for user "u": unsupported password hash (plain text and crypt are refused): ` + acceptedHashes},
		{name: "bad bcrypt", lines: []string{"u:$2y$10$short"}, wantErr: `basic auth entry for user "u": bad bcrypt hash: crypto/bcrypt: hashedSecret too short to be a bcrypted password`},
		{name: "bad apr1", lines: []string{"u:$apr1$nosalt"}, wantErr: `basic auth entry for user "u": bad $apr1$ hash: want $apr1$<salt>$<hash>`},
		{name: "bad sha", lines: []string{"u:{SHA}abc"}, wantErr: `basic auth entry for user "u": bad {SHA} hash: want {SHA} and the base64 of a SHA-1 digest`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBasicAuth(tt.lines)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parseBasicAuth error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if a, err := parseBasicAuth([]string{"", "# only comments"}); a != nil || err != nil {
		t.Errorf("comments only: %v, %v; want no auth and no error", a, err)
	}
}
