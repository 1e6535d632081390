package gateway

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// acceptedHashes names the htpasswd hashes basic auth understands, for
// error messages.
const acceptedHashes = "use bcrypt (htpasswd -B), Apache MD5 (htpasswd -m, $apr1$) or SHA-1 (htpasswd -s, {SHA})"

type hashKind int

const (
	hashBcrypt hashKind = iota
	hashAPR1
	hashSHA
)

type credential struct {
	kind hashKind
	hash string // the full hash field as written in the htpasswd line
	salt string // apr1 only
}

// basicAuth checks credentials against htpasswd entries.
type basicAuth struct {
	users map[string]credential
	// dummy is checked for an unknown user, so that an unknown user costs
	// as much as a wrong password: user names cannot be probed by timing.
	dummy credential

	mu sync.Mutex
	ok map[[sha256.Size]byte]struct{} // bcrypt successes, by sha256(user NUL password)
}

// maxCachedLogins bounds basicAuth.ok; the cache is emptied when it is full.
const maxCachedLogins = 256

// parseBasicAuth reads htpasswd lines. It returns nil for no entries.
func parseBasicAuth(lines []string) (*basicAuth, error) {
	var a *basicAuth
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("basic auth entry %q is not user:hash (an htpasswd line)", redact(line))
		}
		c, err := parseHash(hash)
		if err != nil {
			return nil, fmt.Errorf("basic auth entry for user %q: %w", user, err)
		}
		if a == nil {
			a = &basicAuth{users: make(map[string]credential)}
		}
		if _, dup := a.users[user]; !dup { // htpasswd uses the first line of a user
			a.users[user] = c
		}
	}
	if a != nil {
		a.dummy = dummyFor(a.users)
	}
	return a, nil
}

// compareBcrypt is bcrypt's check; tests count its calls.
var compareBcrypt = bcrypt.CompareHashAndPassword

// dummyFor returns a credential of the costliest kind among users (for
// bcrypt, at their highest cost) that no password matches.
func dummyFor(users map[string]credential) credential {
	d := credential{kind: hashSHA, hash: "{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	cost := 0
	for _, c := range users {
		switch {
		case c.kind == hashBcrypt:
			if n, err := bcrypt.Cost([]byte(c.hash)); err == nil && n > cost {
				cost = n
			}
		case c.kind == hashAPR1 && d.kind == hashSHA:
			d = credential{kind: hashAPR1, hash: "$apr1$kubeless$0000000000000000000000", salt: "kubeless"}
		}
	}
	if cost > 0 {
		d = credential{kind: hashBcrypt, hash: dummyBcrypt(cost)}
	}
	return d
}

var (
	dummyMu     sync.Mutex
	dummyHashes = map[int]string{}
)

// dummyBcrypt returns a bcrypt hash of a random password at cost, made
// once per cost.
func dummyBcrypt(cost int) string {
	dummyMu.Lock()
	defer dummyMu.Unlock()
	if h, ok := dummyHashes[cost]; ok {
		return h
	}
	pw := make([]byte, 18)
	rand.Read(pw)
	h, err := bcrypt.GenerateFromPassword(pw, cost)
	if err != nil {
		// Cannot happen for a cost read from a valid hash; a fixed hash of
		// the default cost still costs a bcrypt run.
		return "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	}
	dummyHashes[cost] = string(h)
	return string(h)
}

// redact keeps a malformed entry recognisable without printing a password.
func redact(line string) string {
	if len(line) > 3 {
		return line[:3] + "…"
	}
	return line
}

func parseHash(h string) (credential, error) {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return credential{}, fmt.Errorf("bad bcrypt hash: %v", err)
		}
		return credential{kind: hashBcrypt, hash: h}, nil
	case strings.HasPrefix(h, "$apr1$"):
		salt, _, ok := strings.Cut(h[len("$apr1$"):], "$")
		if !ok || len(salt) > 8 {
			return credential{}, fmt.Errorf("bad $apr1$ hash: want $apr1$<salt>$<hash>")
		}
		return credential{kind: hashAPR1, hash: h, salt: salt}, nil
	case strings.HasPrefix(h, "{SHA}"):
		if b, err := base64.StdEncoding.DecodeString(h[len("{SHA}"):]); err != nil || len(b) != sha1.Size {
			return credential{}, fmt.Errorf("bad {SHA} hash: want {SHA} and the base64 of a SHA-1 digest")
		}
		return credential{kind: hashSHA, hash: h}, nil
	}
	return credential{}, fmt.Errorf("unsupported password hash (plain text and crypt are refused): %s", acceptedHashes)
}

// check reports whether user and password match an entry. An unknown user
// costs the same as a known one with a wrong password.
func (a *basicAuth) check(user, password string) bool {
	c, ok := a.users[user]
	if !ok {
		a.verify(a.dummy, user, password)
		return false
	}
	return a.verify(c, user, password)
}

// cached reports whether user and password already passed a bcrypt check.
func (a *basicAuth) cached(user, password string) bool {
	key := loginKey(user, password)
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.ok[key]
	return ok
}

func loginKey(user, password string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	return key
}

func (a *basicAuth) verify(c credential, user, password string) bool {
	switch c.kind {
	case hashSHA:
		sum := sha1.Sum([]byte(password))
		want := "{SHA}" + base64.StdEncoding.EncodeToString(sum[:])
		return subtle.ConstantTimeCompare([]byte(want), []byte(c.hash)) == 1
	case hashAPR1:
		return subtle.ConstantTimeCompare([]byte(apr1(password, c.salt)), []byte(c.hash)) == 1
	}
	key := loginKey(user, password)
	a.mu.Lock()
	_, cached := a.ok[key]
	a.mu.Unlock()
	if cached {
		return true
	}
	if compareBcrypt([]byte(c.hash), []byte(password)) != nil {
		return false
	}
	a.mu.Lock()
	if a.ok == nil || len(a.ok) >= maxCachedLogins {
		a.ok = make(map[[sha256.Size]byte]struct{})
	}
	a.ok[key] = struct{}{}
	a.mu.Unlock()
	return true
}

// apr1 computes Apache's MD5-based crypt ("$apr1$salt$hash"), the default
// hash of the htpasswd tool.
func apr1(password, salt string) string {
	const magic = "$apr1$"
	pw := []byte(password)
	alt := md5.New()
	alt.Write(pw)
	alt.Write([]byte(salt))
	alt.Write(pw)
	altSum := alt.Sum(nil)

	h := md5.New()
	h.Write(pw)
	h.Write([]byte(magic))
	h.Write([]byte(salt))
	for i := len(pw); i > 0; i -= 16 {
		h.Write(altSum[:min(i, 16)])
	}
	for i := len(pw); i > 0; i >>= 1 {
		if i&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write(pw[:1])
		}
	}
	sum := h.Sum(nil)
	for i := range 1000 {
		r := md5.New()
		if i&1 != 0 {
			r.Write(pw)
		} else {
			r.Write(sum)
		}
		if i%3 != 0 {
			r.Write([]byte(salt))
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 != 0 {
			r.Write(sum)
		} else {
			r.Write(pw)
		}
		sum = r.Sum(sum[:0])
	}

	const itoa64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	out := make([]byte, 0, len(magic)+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	enc := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, itoa64[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		enc(uint32(sum[g[0]])<<16|uint32(sum[g[1]])<<8|uint32(sum[g[2]]), 4)
	}
	enc(uint32(sum[11]), 2)
	return string(out)
}
