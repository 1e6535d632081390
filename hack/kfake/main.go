// Command kfake runs franz-go's fake Kafka cluster (pkg/kfake), a broker
// that speaks the Kafka protocol, for the end-to-end tests of the Kafka
// triggers (test/events.bats, test/cluster-events.bats): no Apache Kafka or
// Redpanda build can be fetched from the registries this project's machines
// and CI reach, and a JVM broker would not start in the tests' time anyway.
// It listens on HOST:PORT (-host, default 127.0.0.1; -port, 0 for a free
// one), advertises that address to its clients, writes it to -addr-file
// once it accepts connections, and runs until SIGTERM or SIGINT. A cluster
// test gives -host the node's address, which both the controller and the
// pods reach.
//
//	go build -o /tmp/kfake ./hack/kfake && /tmp/kfake -addr-file /tmp/kafka.addr
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on and to advertise")
	port := flag.Int("port", 0, "port to listen on (0: a free one)")
	addrFile := flag.String("addr-file", "", "file that gets host:port once the broker listens")
	partitions := flag.Int("partitions", 3, "partitions of auto-created topics")
	flag.Parse()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(*partitions),
		// kfake listens on 127.0.0.1 and advertises its listener's address:
		// keep its port, take our host.
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, p, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(*host, p))
		})}
	if *port != 0 {
		opts = append(opts, kfake.Ports(*port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfake:", err)
		os.Exit(1)
	}
	defer c.Close()
	addr := strings.Join(c.ListenAddrs(), ",")
	if *addrFile != "" {
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(addr+"\n"), 0o644); err != nil || os.Rename(tmp, *addrFile) != nil {
			fmt.Fprintln(os.Stderr, "kfake: write", *addrFile, err)
			os.Exit(1)
		}
	}
	fmt.Println("kfake listening on", addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
}
