// Command kfake runs franz-go's fake Kafka cluster (pkg/kfake), a broker
// that speaks the Kafka protocol, for the end-to-end tests of the Kafka
// triggers (test/events.bats): no Apache Kafka or Redpanda build can be
// fetched from the registries this project's machines and CI reach, and a
// JVM broker would not start in the tests' time anyway. It listens on
// 127.0.0.1:PORT (-port, 0 for a free one), writes host:port to -addr-file
// once it accepts connections, and runs until SIGTERM or SIGINT.
//
//	go build -o /tmp/kfake ./hack/kfake && /tmp/kfake -addr-file /tmp/kafka.addr
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 0, "port to listen on (0: a free one)")
	addrFile := flag.String("addr-file", "", "file that gets host:port once the broker listens")
	partitions := flag.Int("partitions", 3, "partitions of auto-created topics")
	flag.Parse()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(*partitions)}
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
