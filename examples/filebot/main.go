// Filebot sends and receives files. On "/files" it generates a PNG and a few
// megabytes of data, uploads them with a progress bar on the terminal and
// sends them as image, file and video messages; any image, file or video a
// user sends it is downloaded, measured and checksummed.
//
//	go run ./examples/filebot                                  # on the embedded emulator
//	go run ./examples/filebot -keystore bot.json -video a.mp4  # on the real Mixin API
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/gomixin/mixin"
	"github.com/gomixin/mixin/examples/internal/demo"
)

type bot struct {
	client    *mixin.Client
	videoFile string // an MP4 to send; "" sends generated stand-in bytes on the emulator
	emulated  bool
}

var videoFlag = flag.String("video", "", "an MP4 file to send as the video message (assumed 640×360, 10s)")

func main() { demo.Main("File Bot", serve) }

// serve runs the bot; on the emulator, with the scripted users.
func serve(ctx context.Context, env *demo.Env) error {
	b := &bot{client: env.Client, videoFile: *videoFlag, emulated: env.Server != nil}
	router := mixin.NewRouter().
		Command("/files", mixin.HandlerFunc(b.sendFiles)).
		Category(mixin.CategoryPlainImage, mixin.HandlerFunc(b.receive)).
		Category(mixin.CategoryPlainData, mixin.HandlerFunc(b.receive)).
		Category(mixin.CategoryPlainVideo, mixin.HandlerFunc(b.receive)).
		Default(mixin.HandlerFunc(func(ctx context.Context, msg *mixin.Message) error {
			if msg.Category.Plain() != mixin.CategoryPlainText {
				return nil // e.g. SYSTEM_CONVERSATION in a group: nothing to say
			}
			_, err := b.client.Reply(ctx, msg, mixin.TextPayload("send /files, or send me a file"))
			return err
		}))
	return env.Serve(ctx, router, script)
}

// sendFiles uploads generated files and sends them back.
func (b *bot) sendFiles(ctx context.Context, msg *mixin.Message) error {
	to := mixin.ToConversation(msg.ConversationID)
	// Ids derived from the request: a redelivered "/files" sends nothing twice.
	id := func(what string) mixin.SendOption {
		return mixin.WithMessageID(mixin.UniqueObjectID(msg.MessageID, what))
	}

	photo, err := gradientPNG(300, 200)
	if err != nil {
		return err
	}
	img, err := b.client.UploadFile(ctx, bytes.NewReader(photo), progress("photo.png"))
	if err != nil {
		return err
	}
	// The upload sniffed the type and the PNG's size: the payload is ready.
	if _, err = b.client.SendImage(ctx, to, img.ImagePayload(), id("image")); err != nil {
		return err
	}

	// 4 MB streamed from a generator: nothing is held in memory.
	const size = 4 << 20
	noise := io.LimitReader(rand.NewChaCha8([32]byte{}), size)
	file, err := b.client.UploadFile(ctx, noise, mixin.WithUploadSize(size), mixin.WithUploadMimeType("application/octet-stream"), progress("noise.bin"))
	if err != nil {
		return err
	}
	if _, err = b.client.SendData(ctx, to, file.DataPayload("noise.bin"), id("data")); err != nil {
		return err
	}

	var video *mixin.Attachment
	switch {
	case b.videoFile != "":
		f, err := os.Open(b.videoFile)
		if err != nil {
			return err
		}
		defer f.Close()
		video, err = b.client.UploadFile(ctx, f, mixin.WithUploadMimeType("video/mp4"), progress(b.videoFile))
		if err != nil {
			return err
		}
	case b.emulated:
		// Stand-in bytes behind an MP4 file type box: the emulator's app
		// check reads the container signature, not the frames. A real bot
		// uploads an MP4 and reads its size and length from it.
		ftyp := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
		stub := io.MultiReader(bytes.NewReader(ftyp), io.LimitReader(rand.NewChaCha8([32]byte{1}), 2<<20-int64(len(ftyp))))
		video, err = b.client.UploadFile(ctx, stub, mixin.WithUploadSize(2<<20), mixin.WithUploadMimeType("video/mp4"), progress("clip.mp4"))
		if err != nil {
			return err
		}
	default:
		_, err = b.client.Reply(ctx, msg, mixin.TextPayload("start me with -video FILE.mp4 and I send a video too"))
		return err
	}
	_, err = b.client.SendVideo(ctx, to, video.VideoPayload(640, 360, 10*time.Second), id("video"))
	return err
}

// receive downloads what a user sent and reports its size and checksum.
func (b *bot) receive(ctx context.Context, msg *mixin.Message) error {
	p, err := msg.Payload()
	if err != nil {
		return err
	}
	var attachmentID, what string
	switch p := p.(type) {
	case mixin.ImagePayload:
		attachmentID, what = p.AttachmentID, fmt.Sprintf("image %d×%d", p.Width, p.Height)
	case mixin.DataPayload:
		attachmentID, what = p.AttachmentID, fmt.Sprintf("file %q", p.Name)
	case mixin.VideoPayload:
		attachmentID, what = p.AttachmentID, fmt.Sprintf("video %d×%d", p.Width, p.Height)
	}
	sum := sha256.New()
	n, err := b.client.DownloadAttachment(ctx, attachmentID, sum)
	if err != nil {
		return err
	}
	_, err = b.client.Reply(ctx, msg, mixin.TextPayload(fmt.Sprintf("downloaded your %s: %s, sha256 %x…",
		what, demo.Size(n), sum.Sum(nil)[:6])))
	return err
}

// progress draws a progress bar on stderr, redrawn in place with \r (only
// the final state when stderr is not a terminal).
func progress(name string) mixin.UploadOption {
	last := -1
	fi, err := os.Stderr.Stat()
	terminal := err == nil && fi.Mode()&os.ModeCharDevice != 0
	return mixin.WithProgress(func(sent, total int64) {
		pct := int(sent * 100 / max(total, 1))
		if pct == last || (!terminal && sent < total) {
			return
		}
		last = pct
		bar := strings.Repeat("█", pct/4) + strings.Repeat("·", 25-pct/4)
		fmt.Fprintf(os.Stderr, "\r   uploading %-10s %s %3d%% %s", name, bar, pct, demo.Size(total))
		if sent == total {
			fmt.Fprintln(os.Stderr)
		}
	})
}

// gradientPNG draws a w×h colour gradient.
func gradientPNG(w, h int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{R: uint8(255 * x / w), G: uint8(255 * y / h), B: 160, A: 255})
		}
	}
	var buf bytes.Buffer
	err := png.Encode(&buf, img)
	return buf.Bytes(), err
}

// script is Alice's side on the emulator.
func script(ctx context.Context, env *demo.Env) error {
	alice := env.NewUser("a11ce000-0000-4000-8000-000000000001", "alice")
	if err := alice.Say(ctx, "/files"); err != nil {
		return err
	}
	if err := alice.Expect(ctx, 3); err != nil { // image, file, video
		return err
	}

	// Alice uploads with a client of her own: simulated users have keystores.
	photo, err := gradientPNG(120, 80)
	if err != nil {
		return err
	}
	att, err := alice.Client.UploadFile(ctx, bytes.NewReader(photo))
	if err != nil {
		return err
	}
	imgPayload := att.ImagePayload()
	if err = alice.SendPayload(ctx, &imgPayload); err != nil {
		return err
	}
	if err = alice.Expect(ctx, 1); err != nil {
		return err
	}

	notes := strings.Repeat("gophers like files\n", 50_000)
	att, err = alice.Client.UploadFile(ctx, strings.NewReader(notes), mixin.WithUploadMimeType("text/plain"))
	if err != nil {
		return err
	}
	dataPayload := att.DataPayload("notes.txt")
	if err = alice.SendPayload(ctx, &dataPayload); err != nil {
		return err
	}
	return alice.Expect(ctx, 1)
}
