package topics_test

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mqtt-check/mqtt-check/reference/topics"
)

func ExampleMatch() {
	fmt.Println(topics.Match([]byte("sport/#"), []byte("sport")))
	fmt.Println(topics.Match([]byte("sport/+"), []byte("sport")))
	fmt.Println(topics.Match([]byte("#"), []byte("$SYS/broker/uptime")))
	fmt.Println(topics.Match([]byte("$SYS/#"), []byte("$SYS/broker/uptime")))
	// Output:
	// true
	// false
	// false
	// true
}

func ExampleValidateFilter() {
	err := topics.ValidateFilter([]byte("sport/tennis/#/ranking"))
	fmt.Println(err)
	var e *topics.Error
	if errors.As(err, &e) {
		fmt.Println(e.Rule)
	}
	// Output:
	// topic filter "sport/tennis/#/ranking": '#' must be the last level [MQTT-4.7.1-2]
	// MQTT-4.7.1-2
}

func ExampleParseShared() {
	share, inner, ok, err := topics.ParseShared([]byte("$share/workers/jobs/+"))
	fmt.Printf("%s %s %v %v\n", share, inner, ok, err)
	_, _, _, err = topics.ParseShared([]byte("$share/work+ers/jobs"))
	fmt.Println(err)
	// Output:
	// workers jobs/+ true <nil>
	// topic filter "$share/work+ers/jobs": shared subscription ShareName must not contain '+' or '#' [MQTT-4.8.2-2]
}

func ExampleTrie() {
	var tr topics.Trie[byte] // value: granted QoS
	tr.Subscribe("sport/tennis/+", "alice", 1)
	tr.Subscribe("sport/#", "bob", 0)
	tr.Subscribe("sport/#", "bob", 2) // replaces bob's QoS 0 subscription
	tr.Subscribe("#", "carol", 1)

	var got []string
	tr.Match([]byte("sport/tennis/player1"), func(filter, key string, qos byte) {
		got = append(got, fmt.Sprintf("%s via %s at QoS %d", key, filter, qos))
	})
	slices.Sort(got)
	for _, s := range got {
		fmt.Println(s)
	}
	fmt.Println(tr.Len(), "subscriptions")
	// Output:
	// alice via sport/tennis/+ at QoS 1
	// bob via sport/# at QoS 2
	// carol via # at QoS 1
	// 3 subscriptions
}
