package topic

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kubeless/kubeless/internal/cli/cmdutil"
	"github.com/kubeless/kubeless/internal/cli/iostreams"
)

func runCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ios, _, stdout, stderr := iostreams.Test()
	cmd := NewCmdTopic(&cmdutil.Factory{IOStreams: ios})
	cmd.SetArgs(args)
	cmd.SetOut(&strings.Builder{})
	cmd.SetErr(&strings.Builder{})
	err := cmd.Execute()
	return stdout.String(), stderr.String(), err
}

func TestTopicVerbs(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b := strings.Join(c.ListenAddrs(), ",")
	if _, stderr, err := runCmd(t, "create", "orders", "--partitions", "2", "--brokers", b); err != nil || stderr != "Topic orders created\n" {
		t.Fatalf("create: %v %q", err, stderr)
	}
	if _, _, err := runCmd(t, "create", "orders", "--brokers", b); err == nil || !strings.Contains(err.Error(), "create topic orders: TOPIC_ALREADY_EXISTS") {
		t.Errorf("create twice: %v", err)
	}
	if out, _, err := runCmd(t, "list", "--brokers", b); err != nil || out != "orders\n" {
		t.Errorf("list: %v %q", err, out)
	}
	if _, _, err := runCmd(t, "publish", "--topic", "orders", "--data", `{"id":1}`, "--brokers", b); err != nil {
		t.Fatalf("publish: %v", err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var got []string
	for len(got) == 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("the published message never arrived")
		}
		for _, r := range fs.Records() {
			got = append(got, string(r.Value))
		}
	}
	if got[0] != `{"id":1}` {
		t.Errorf("published %q", got)
	}
	if _, stderr, err := runCmd(t, "delete", "orders", "--brokers", b); err != nil || stderr != "Topic orders deleted\n" {
		t.Errorf("delete: %v %q", err, stderr)
	}
	t.Setenv(EnvBrokers, "")
	_, _, err = runCmd(t, "list", "--brokers", "")
	var fe *cmdutil.FlagError
	if err == nil || err.Error() != "no Kafka broker: give --brokers host:port or set KUBELESS_KAFKA_BROKERS" || !errors.As(err, &fe) {
		t.Errorf("no brokers: %v", err)
	}
}
