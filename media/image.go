package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/buckket/go-blurhash"
	"github.com/disintegration/imaging"
	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"github.com/hearth-chat/hearth/node"
)

// codec is one image format's decoders, called by the sniffed type
// (rather than registered with image.RegisterFormat, which is global
// state and would let image.Decode pick a decoder by the bytes again).
type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = map[string]codec{
	"image/jpeg":             {jpeg.DecodeConfig, jpeg.Decode},
	"image/png":              {png.DecodeConfig, png.Decode},
	"image/vnd.mozilla.apng": {png.DecodeConfig, png.Decode},
	"image/gif":              {gif.DecodeConfig, gif.Decode}, // the first frame
	"image/webp":             {webp.DecodeConfig, webp.Decode},
	"image/bmp":              {bmp.DecodeConfig, bmp.Decode},
}

func isImage(typ string) bool {
	_, ok := codecs[typ]
	return ok
}

// bytesPerPixel estimates the memory a decoded pixel of a color model
// takes, so an image too large to decode is known from its header.
func bytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.YCbCrModel:
		return 3
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// examine reads an image's dimensions from its header (no pixels yet),
// refuses an upload over MaxPixels — a decompression bomb costs nothing
// but its header — and, when decoding fits DecodeBytes, makes the
// blurhash. Dimensions are as displayed: EXIF orientations 5 to 8 swap
// them. An image that does not parse is kept as an opaque file.
func (s *Store) examine(ctx context.Context, p *pending, upload bool) error {
	c := codecs[p.info.Type]
	f, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("examine media file: %w", err)
	}
	defer f.Close()
	cfg, err := c.config(bufio.NewReader(f))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		if upload {
			return &node.Error{Kind: node.ErrInvalid, Message: "the file looks like " + p.info.Type + " but is not a valid one"}
		}
		p.info.Type = "application/octet-stream"
		return nil
	}
	pixels := int64(cfg.Width) * int64(cfg.Height)
	if pixels > s.cfg.MaxPixels {
		if upload {
			return &node.Error{Kind: node.ErrTooLarge, Message: fmt.Sprintf(
				"the image is %d × %d pixels; the limit is %d million pixels", cfg.Width, cfg.Height, s.cfg.MaxPixels/1_000_000)}
		}
		return nil // kept as a file, no dimensions: no preview is tried
	}
	orientation := 1
	if p.info.Type == "image/jpeg" {
		orientation = jpegOrientation(p.path)
	}
	p.info.Width, p.info.Height = cfg.Width, cfg.Height
	if orientation >= 5 {
		p.info.Width, p.info.Height = cfg.Height, cfg.Width
	}
	if pixels*bytesPerPixel(cfg.ColorModel) > s.cfg.DecodeBytes {
		return nil
	}
	var small *image.NRGBA
	if err := s.withDecoded(ctx, p.path, p.info.Type, func(img image.Image) error {
		small = orient(imaging.Fit(shrink(img, 32), 32, 32, imaging.Box), orientation)
		return nil
	}); err != nil {
		s.log.Debug("image not decoded", "type", p.info.Type, "err", err)
		return nil
	}
	x, y := 4, 3
	if p.info.Height > p.info.Width {
		x, y = 3, 4
	}
	if h, err := blurhash.Encode(x, y, small); err == nil {
		p.info.Blurhash = h
	}
	return nil
}

// withDecoded decodes a file's pixels and hands them to fn, under the
// decoder semaphore for the whole time the pixels live, so at most
// Decoders images are in memory at once; after a large one it gives the
// memory back to the OS, so a burst of big photos does not leave the node
// at its peak size.
func (s *Store) withDecoded(ctx context.Context, path, typ string, fn func(image.Image) error) error {
	select {
	case s.decode <- struct{}{}:
		defer func() { <-s.decode }()
	case <-ctx.Done():
		return ctx.Err()
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	img, err := codecs[typ].decode(bufio.NewReaderSize(f, 64<<10))
	f.Close()
	if err != nil {
		return err
	}
	b := img.Bounds()
	big := int64(b.Dx())*int64(b.Dy()) > 4_000_000
	err = fn(img)
	img = nil
	if big {
		debug.FreeOSMemory()
	}
	return err
}

// shrink halves an image with a 2×2 box filter until it is at most
// twice the box, so the final filter (whose kernel widens with the scale
// factor) runs on a small image: a 12-megapixel photo's 512-pixel preview
// costs a fraction of one Lanczos pass over the whole photo, with the
// same result to the eye.
func shrink(img image.Image, box int) image.Image {
	for {
		b := img.Bounds()
		if max(b.Dx(), b.Dy()) <= 2*box || min(b.Dx(), b.Dy()) < 4 {
			return img
		}
		img = imaging.Resize(img, b.Dx()/2, b.Dy()/2, imaging.Box)
	}
}

// orient turns pixels as EXIF orientation o says they are displayed.
func orient(img image.Image, o int) *image.NRGBA {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return imaging.Clone(img)
}

// jpegOrientation reads the EXIF orientation of a stored JPEG from the
// segments before its first scan; 1 when it has none.
func jpegOrientation(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 1
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr != [2]byte{0xFF, mSOI} {
		return 1
	}
	for {
		marker, err := nextMarker(r)
		if err != nil || marker == mSOS || marker == mEOI {
			return 1
		}
		if marker == 0x01 || marker >= 0xD0 && marker <= 0xD7 {
			continue
		}
		var lb [2]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(lb[:])) - 2
		if n < 0 {
			return 1
		}
		if marker != mAPP1 {
			if _, err := r.Discard(n); err != nil {
				return 1
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 1
		}
		if bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return max(exifOrientation(seg), 1)
		}
	}
}

// Thumbnail implements node.MediaFiles: a preview of a stored image that
// fits in box×box (never enlarged), made on first use under the decoder
// semaphore and kept beside the file. Opaque previews are JPEG, those
// with transparency PNG.
func (s *Store) Thumbnail(ctx context.Context, id node.MediaID, box int) (io.ReadSeekCloser, string, error) {
	path := s.thumbPath(id, box)
	if f, typ, err := openThumb(path); err == nil {
		return f, typ, nil
	}
	src := s.blobPath(id)
	f, err := os.Open(src)
	if err != nil {
		return nil, "", fmt.Errorf("thumbnail: %w", node.ErrNotFound)
	}
	head := make([]byte, s.sniffLen)
	n, _ := io.ReadFull(f, head)
	f.Close()
	typ := sniff(head[:n])
	c, ok := codecs[typ]
	if !ok {
		return nil, "", fmt.Errorf("thumbnail of %s: %w", typ, node.ErrNotFound)
	}
	cf, err := os.Open(src)
	if err != nil {
		return nil, "", err
	}
	cfg, err := c.config(bufio.NewReader(cf))
	cf.Close()
	if err != nil || int64(cfg.Width)*int64(cfg.Height) > s.cfg.MaxPixels ||
		int64(cfg.Width)*int64(cfg.Height)*bytesPerPixel(cfg.ColorModel) > s.cfg.DecodeBytes {
		return nil, "", fmt.Errorf("thumbnail: image too large to preview: %w", node.ErrNotFound)
	}
	orientation := 1
	if typ == "image/jpeg" {
		orientation = jpegOrientation(src)
	}
	var thumb *image.NRGBA
	err = s.withDecoded(ctx, src, typ, func(img image.Image) error {
		b := img.Bounds()
		if b.Dx() <= box && b.Dy() <= box {
			thumb = orient(img, orientation)
		} else {
			// Scale first (the smaller image is cheaper to turn), in the
			// stored orientation: a box is square, so it fits either way.
			thumb = orient(imaging.Fit(shrink(img, box), box, box, imaging.Lanczos), orientation)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("thumbnail: %w", node.ErrNotFound)
	}
	tmp, err := s.newTemp()
	if err != nil {
		return nil, "", err
	}
	format := imaging.JPEG
	if !thumb.Opaque() {
		format = imaging.PNG
	}
	err = imaging.Encode(tmp, thumb, format, imaging.JPEGQuality(82), imaging.PNGCompressionLevel(png.BestSpeed))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if err = os.MkdirAll(filepath.Dir(path), 0o700); err == nil {
			err = os.Rename(tmp.Name(), path)
		}
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return nil, "", diskError("write thumbnail", err)
	}
	out, typ, err := openThumb(path)
	return out, typ, err
}

// openThumb opens a cached preview and tells its type from its first
// byte (JPEG 0xFF, PNG 0x89).
func openThumb(path string) (io.ReadSeekCloser, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		f.Close()
		return nil, "", err
	}
	typ := "image/jpeg"
	if b[0] == 0x89 {
		typ = "image/png"
	}
	return f, typ, nil
}
