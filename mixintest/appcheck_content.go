package mixintest

import (
	"bytes"
	"fmt"
	imgconf "image"
	_ "image/gif"  // register GIF for the content check
	_ "image/jpeg" // register JPEG for the content check
	_ "image/png"  // register PNG for the content check
	"math"
	"strings"

	"github.com/gomixin/mixin"
	_ "golang.org/x/image/bmp"  // register BMP for the content check
	_ "golang.org/x/image/tiff" // register TIFF for the content check
	_ "golang.org/x/image/webp" // register WebP for the content check
)

// The content check looks inside an attachment the server holds: the bytes
// a message's attachment_id names (decrypted first when the payload
// carries a key and digest) must be what its mime_type says, and a
// picture's width and height must have the image's shape. Images are
// decoded with image.DecodeConfig (PNG, JPEG, GIF, WebP, BMP, TIFF); audio
// and video containers are told by their signatures. A mime_type the check
// does not know, or an attachment whose bytes the server did not keep, is
// not checked.

// imageFormats maps the image mime types the check reads to the format
// names image.DecodeConfig reports.
var imageFormats = map[string]string{
	"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/pjpeg": "jpeg", "image/gif": "gif",
	"image/webp": "webp", "image/bmp": "bmp", "image/x-ms-bmp": "bmp", "image/tiff": "tiff",
}

// mediaContainers maps the audio and video mime types the check knows to
// the containers their files may be in.
var mediaContainers = map[string][]string{
	"video/mp4": {"MP4"}, "video/quicktime": {"MP4"}, "video/3gpp": {"MP4"}, "video/x-m4v": {"MP4"},
	"video/webm": {"Matroska"}, "video/x-matroska": {"Matroska"}, "video/ogg": {"Ogg"},
	"audio/ogg": {"Ogg"}, "audio/opus": {"Ogg"}, "audio/mpeg": {"MP3"}, "audio/mp3": {"MP3"},
	"audio/mp4": {"MP4", "AAC"}, "audio/m4a": {"MP4"}, "audio/x-m4a": {"MP4"}, "audio/aac": {"AAC", "MP4"},
	"audio/wav": {"WAV"}, "audio/x-wav": {"WAV"}, "audio/wave": {"WAV"}, "audio/webm": {"Matroska"},
	"audio/flac": {"FLAC"}, "audio/amr": {"AMR"},
}

// checkContent applies the content check to an attachment payload.
func checkContent(ck *checker, c mixin.Category, o jsonObject) {
	if ck.env == nil || ck.env.attachment == nil {
		return
	}
	id, _ := o.str("attachment_id")
	data, ok := ck.env.attachment(id)
	if !ok {
		return
	}
	key, hasKey := o.str("key")
	digest, hasDigest := o.str("digest")
	if hasKey || hasDigest {
		plain, err := DecryptAttachment(data, key, digest)
		if err != nil {
			ck.report("key", "and digest do not open the uploaded file ("+strings.TrimPrefix(err.Error(), "mixintest: ")+")",
				"the apps cannot open the download (its MAC or digest check fails)", srcAndroidCipher)
			return
		}
		data = plain
	}
	mime, _ := o.str("mime_type")
	mime = strings.ToLower(strings.TrimSpace(mime))
	switch c {
	case mixin.CategoryPlainImage:
		checkImageContent(ck, o, mime, data)
	case mixin.CategoryPlainVideo, mixin.CategoryPlainAudio:
		checkMediaContent(ck, mime, data)
	}
}

// checkImageContent decodes the picture's header: bytes that are no image
// at all cannot be shown; an image of another format, or of another shape
// than width and height say, is a warning.
func checkImageContent(ck *checker, o jsonObject, mime string, data []byte) {
	want, known := imageFormats[mime]
	if !known {
		return
	}
	const src = "image.DecodeConfig of the uploaded bytes"
	cfg, got, err := imgconf.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if other := sniffContainer(data); other != "" {
			ck.add(ProblemKindWarning, "mime_type", "is "+mime+" but the bytes are "+other, "the apps decode pictures by their content; "+other+" may not show", src)
			return
		}
		ck.report("mime_type", "is "+mime+" but the uploaded bytes are not an image (no format the check reads: PNG, JPEG, GIF, WebP, BMP, TIFF)",
			"the apps cannot show the picture", src)
		return
	}
	if got != want {
		ck.add(ProblemKindWarning, "mime_type", "is "+mime+" but the bytes are "+strings.ToUpper(got), "the apps decode pictures by their content and show it; the type is wrong", src)
	}
	w, _, okW := o.intLike("width")
	h, _, okH := o.intLike("height")
	if !okW || !okH || w <= 0 || h <= 0 || sameShape(w, h, float64(cfg.Width), float64(cfg.Height)) {
		return
	}
	ck.add(ProblemKindWarning, "width", fmt.Sprintf("and height (%gx%g) are not the shape of the image (%dx%d)", w, h, cfg.Width, cfg.Height),
		"the apps size the bubble from width and height before the download, so the picture shows cropped or stretched",
		src+"; "+srcAndroidAttachment+"; "+srcIOSAttachment)
}

// sameShape reports whether w×h has the shape of the image cw×ch, in
// either orientation (a JPEG's EXIF rotation swaps them), within 2%.
func sameShape(w, h, cw, ch float64) bool {
	if cw <= 0 || ch <= 0 {
		return true
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 0.02*b }
	return near(w/h, cw/ch) || near(w/h, ch/cw)
}

// checkMediaContent compares the container signature of audio and video
// bytes with the mime type.
func checkMediaContent(ck *checker, mime string, data []byte) {
	want, known := mediaContainers[mime]
	if !known {
		return
	}
	const src = "container signature of the uploaded bytes"
	got := sniffContainer(data)
	for _, w := range want {
		if got == w {
			return
		}
	}
	if got == "" {
		if _, format, err := imgconf.DecodeConfig(bytes.NewReader(data)); err == nil {
			got = strings.ToUpper(format) + " image"
		}
	}
	if got == "" {
		ck.report("mime_type", "is "+mime+" but the uploaded bytes are not "+strings.Join(want, " or ")+" (no known container signature)",
			"the apps cannot play it", src)
		return
	}
	ck.add(ProblemKindWarning, "mime_type", "is "+mime+" but the bytes are "+got, "the type does not match the file; players that trust it may not play it", src)
}

// sniffContainer names the audio, video or undecodable image container of
// data by its signature, or "".
func sniffContainer(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[4:8]) == "ftyp":
		switch string(b[8:12]) {
		case "heic", "heix", "hevc", "mif1", "msf1":
			return "HEIF"
		case "avif", "avis":
			return "AVIF"
		}
		return "MP4"
	case len(b) >= 8 && strings.Contains(" moov mdat wide free skip pnot ", " "+string(b[4:8])+" "):
		return "MP4" // QuickTime files may start with any of these atoms
	case bytes.HasPrefix(b, []byte{0x1a, 0x45, 0xdf, 0xa3}):
		return "Matroska"
	case bytes.HasPrefix(b, []byte("OggS")):
		return "Ogg"
	case bytes.HasPrefix(b, []byte("ID3")):
		return "MP3"
	case len(b) >= 12 && (string(b[:4]) == "RIFF" || string(b[:4]) == "RF64") && string(b[8:12]) == "WAVE":
		return "WAV"
	case bytes.HasPrefix(b, []byte("ADIF")):
		return "AAC"
	case bytes.HasPrefix(b, []byte("fLaC")):
		return "FLAC"
	case bytes.HasPrefix(b, []byte("#!AMR")):
		return "AMR"
	case len(b) >= 2 && b[0] == 0xff && b[1]&0xf6 == 0xf0:
		return "AAC"
	case len(b) >= 2 && b[0] == 0xff && b[1]&0xe0 == 0xe0:
		return "MP3"
	}
	return ""
}
