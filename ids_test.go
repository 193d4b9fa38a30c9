package mixin_test

import (
	"crypto/md5"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/gomixin/mixin"
	"github.com/stretchr/testify/assert"
)

// officialPair is bot-api-go-client's UniqueConversationId written out from
// its description (utils.go, docs conversations/create.md): MD5 of the
// smaller string then the larger, compared bytewise with no case folding,
// version 3 and RFC 4122 variant bits set.
func officialPair(a, b string) string {
	if strings.Compare(a, b) > 0 {
		a, b = b, a
	}
	sum := md5.Sum([]byte(a + b))
	sum[6] = sum[6]&0x0f | 0x30
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// officialGroup is bot-api-go-client's GroupConversationId: the owner with
// the name as given, then the random id, then each participant in sorted
// order.
func officialGroup(owner, name string, participants []string, random string) string {
	g := officialPair(owner, name)
	g = officialPair(g, random)
	ps := append([]string(nil), participants...)
	sort.Strings(ps)
	for _, p := range ps {
		g = officialPair(g, p)
	}
	return g
}

func TestGroupConversationIDKeepsNameCase(t *testing.T) {
	const owner = "11efbb75-e7fe-44d7-a14f-698535289310"
	const random = "00000000-0000-4000-8000-000000000001"
	members := []string{"e8e8cd79-cd40-4796-8c54-3a13cfe50115", "0b4f49dc-8fb4-4539-9a89-fb3afc613747"}
	for _, name := range []string{"test-group", "Test Group", "MIXIN Devs 🚀", "ÉTÉ été"} {
		want := officialGroup(owner, name, members, random)
		assert.Equal(t, want, mixin.GroupConversationID(owner, name, members, random), name)
	}
	assert.NotEqual(t, mixin.GroupConversationID(owner, "Test Group", members, random),
		mixin.GroupConversationID(owner, "test group", members, random), "case is part of the name")
	// The vector in the protocol notes, computed independently.
	assert.Equal(t, "3afe01f8-d10b-3343-97c1-1c7b26f61981",
		mixin.GroupConversationID(owner, "test-group", members[:1], random))
	// Ids are UUIDs and are taken in their lower-case form, as the API
	// writes them; the random id too (bot-api-go-client parses it).
	assert.Equal(t, officialGroup(owner, "Test Group", members, random),
		mixin.GroupConversationID(strings.ToUpper(owner), "Test Group", []string{strings.ToUpper(members[0]), members[1]}, strings.ToUpper(random)))
}
