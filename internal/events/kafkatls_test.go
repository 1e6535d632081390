package events

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kubeless/kubeless/api/v1beta1"
)

// testCA makes a CA and a server certificate for 127.0.0.1 signed by it; it
// returns the server's TLS config and the CA's PEM file.
func testCA(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubeless test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	return cfg, caFile
}

// failingState runs a consumer with opts until it reports a state, and
// returns that state's error.
func failingState(t *testing.T, brokers []string, opts []kgo.Opt) error {
	t.Helper()
	c := kafkaConsumer(brokers, "secured", newFunction(), v1beta1.EventDelivery{}, nil)
	c.Opts = opts
	states := make(chan error, 100)
	c.State = func(err error) { states <- err }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case err := <-states:
		return err
	case <-time.After(deadline):
		t.Fatal("the consumer reported no state")
		return nil
	}
}

// TestKafkaTLSAndSASL: through a broker that wants TLS and SASL PLAIN, a
// consumer given the CA, user and password delivers; a wrong password, a
// missing CA or no TLS at all is reported through State, naming the broker.
func TestKafkaTLSAndSASL(t *testing.T) {
	serverTLS, caFile := testCA(t)
	brokers := fakeBrokers(t, kfake.TLS(serverTLS), kfake.EnableSASL(), kfake.Superuser("PLAIN", "kubeless", "s3cret"))
	secure := func(s KafkaSecurity) []kgo.Opt {
		t.Helper()
		opts, err := s.Opts()
		if err != nil {
			t.Fatal(err)
		}
		return opts
	}
	right := secure(KafkaSecurity{TLS: true, CACertFile: caFile, SASL: true, User: "kubeless", Password: "s3cret"})

	for _, tc := range []struct {
		name string
		s    KafkaSecurity
		want string
	}{
		{"wrong password", KafkaSecurity{TLS: true, CACertFile: caFile, SASL: true, User: "kubeless", Password: "wrong"}, "check the SASL user and password"},
		{"no CA", KafkaSecurity{TLS: true, SASL: true, User: "kubeless", Password: "s3cret"}, "certificate"},
		{"no TLS", KafkaSecurity{SASL: true, User: "kubeless", Password: "s3cret"}, "is TLS missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := failingState(t, brokers, secure(tc.s))
			t.Logf("state: %v", err)
			if err == nil || !strings.Contains(err.Error(), "no Kafka broker answers at "+brokers[0]) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("state: %v, want no Kafka broker answers at %s ... %s", err, brokers[0], tc.want)
			}
		})
	}

	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("secured")}, right...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "secured"); err != nil {
		t.Fatal(err)
	}
	f := newFunction()
	c := kafkaConsumer(brokers, "secured", f, v1beta1.EventDelivery{}, nil)
	c.Opts = right
	states := make(chan error, 100)
	c.State = func(err error) { states <- err }
	stop := runKafka(t, c)
	defer stop()
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("private")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got := f.waitBodies(t, 1); got[0] != "private" {
		t.Errorf("got %v", got)
	}
	if err := <-states; err != nil {
		t.Errorf("first state with the right CA, user and password: %v", err)
	}
}
