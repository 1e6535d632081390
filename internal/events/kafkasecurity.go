package events

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// KafkaSecurity is how consumers reach Kafka brokers that want TLS or SASL
// (PLAIN): the engine's settings, for all its Kafka triggers.
type KafkaSecurity struct {
	// TLS turns TLS on; CACertFile (PEM) replaces the system's roots,
	// CertFile and KeyFile (PEM) are a client certificate, and Insecure
	// skips the verification of the brokers' certificates.
	TLS                           bool
	CACertFile, CertFile, KeyFile string
	Insecure                      bool
	// SASL turns SASL PLAIN on, with User and Password.
	SASL           bool
	User, Password string
}

// Opts returns the client options of s (none when s is the zero value).
func (s KafkaSecurity) Opts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if s.SASL {
		if s.User == "" {
			return nil, fmt.Errorf("Kafka SASL is on but the user is empty: give the user and password")
		}
		opts = append(opts, kgo.SASL(plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()))
	}
	if !s.TLS {
		if s.CACertFile != "" || s.CertFile != "" || s.KeyFile != "" {
			return nil, fmt.Errorf("Kafka certificates are given but TLS is off: turn TLS on, or give no certificate")
		}
		return opts, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.Insecure}
	if s.CACertFile != "" {
		pem, err := os.ReadFile(s.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("Kafka CA certificates: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("Kafka CA certificates: %s has no PEM certificate", s.CACertFile)
		}
		cfg.RootCAs = pool
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return nil, fmt.Errorf("Kafka client certificate: give both the certificate and the key, or neither")
	}
	if s.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("Kafka client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return append(opts, kgo.DialTLSConfig(cfg)), nil
}
