package tracking

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// TensorBoard writes an event file: TFRecord framing (u64 length, masked CRC32C of the length, the data,
// masked CRC32C of the data) around Event protocol buffers (tensorflow/core/util/event.proto): wall_time
// (1, double), step (2, int64), file_version (3, string) in the first record, summary (5) with values
// (1): tag (1), simple_value (2, float) for scalars, or metadata (9) and a string tensor (8) for text.
type TensorBoard struct {
	path string
	f    *os.File
	w    *bufio.Writer
	now  func() time.Time
}

// NewTensorBoard creates dir/events.out.tfevents.<unix time>.<host> and writes its version record.
func NewTensorBoard(dir string) (*TensorBoard, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, _ := os.Hostname()
	path := filepath.Join(dir, fmt.Sprintf("events.out.tfevents.%d.%s", time.Now().Unix(), host))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if os.IsExist(err) { // a second file within the same second (a quick resume)
		path = fmt.Sprintf("%s.%d", path, time.Now().UnixNano())
		f, err = os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	t := &TensorBoard{path: path, f: f, w: bufio.NewWriter(f), now: time.Now}
	var ev []byte
	ev = protowire.AppendTag(ev, 1, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(t.wallTime()))
	ev = protowire.AppendTag(ev, 3, protowire.BytesType)
	ev = protowire.AppendString(ev, "brain.Event:2")
	if err := t.record(ev); err != nil {
		f.Close()
		return nil, err
	}
	return t, t.Flush()
}

// Path is the event file.
func (t *TensorBoard) Path() string { return t.path }

func (t *TensorBoard) wallTime() float64 { return float64(t.now().UnixNano()) / 1e9 }

// event encodes an Event with a Summary of the given values.
func (t *TensorBoard) event(step int64, values [][]byte) []byte {
	var summary []byte
	for _, v := range values {
		summary = protowire.AppendTag(summary, 1, protowire.BytesType)
		summary = protowire.AppendBytes(summary, v)
	}
	var ev []byte
	ev = protowire.AppendTag(ev, 1, protowire.Fixed64Type)
	ev = protowire.AppendFixed64(ev, math.Float64bits(t.wallTime()))
	ev = protowire.AppendTag(ev, 2, protowire.VarintType)
	ev = protowire.AppendVarint(ev, uint64(step))
	ev = protowire.AppendTag(ev, 5, protowire.BytesType)
	return protowire.AppendBytes(ev, summary)
}

// Scalars writes one event with every value as a simple_value (tags in sorted order).
func (t *TensorBoard) Scalars(step int64, values map[string]float64) error {
	tags := make([]string, 0, len(values))
	for tag := range values {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	var vs [][]byte
	for _, tag := range tags {
		var v []byte
		v = protowire.AppendTag(v, 1, protowire.BytesType)
		v = protowire.AppendString(v, tag)
		v = protowire.AppendTag(v, 2, protowire.Fixed32Type)
		v = protowire.AppendFixed32(v, math.Float32bits(float32(values[tag])))
		vs = append(vs, v)
	}
	return t.record(t.event(step, vs))
}

// Text writes a text summary (TensorBoard's text plugin: a scalar string tensor).
func (t *TensorBoard) Text(step int64, tag, text string) error {
	var plugin []byte // PluginData: plugin_name (1)
	plugin = protowire.AppendTag(plugin, 1, protowire.BytesType)
	plugin = protowire.AppendString(plugin, "text")
	var meta []byte // SummaryMetadata: plugin_data (1)
	meta = protowire.AppendTag(meta, 1, protowire.BytesType)
	meta = protowire.AppendBytes(meta, plugin)
	var tensor []byte // TensorProto: dtype (1) = DT_STRING (7), tensor_shape (2) = scalar, string_val (8)
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, 7)
	tensor = protowire.AppendTag(tensor, 2, protowire.BytesType)
	tensor = protowire.AppendBytes(tensor, nil)
	tensor = protowire.AppendTag(tensor, 8, protowire.BytesType)
	tensor = protowire.AppendString(tensor, text)
	var v []byte
	v = protowire.AppendTag(v, 1, protowire.BytesType)
	v = protowire.AppendString(v, tag)
	v = protowire.AppendTag(v, 9, protowire.BytesType)
	v = protowire.AppendBytes(v, meta)
	v = protowire.AppendTag(v, 8, protowire.BytesType)
	v = protowire.AppendBytes(v, tensor)
	return t.record(t.event(step, [][]byte{v}))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maskedCRC is TFRecord's masked CRC32C: ((c >> 15) | (c << 17)) + 0xa282ead8.
func maskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

func (t *TensorBoard) record(data []byte) error {
	var head [12]byte
	binary.LittleEndian.PutUint64(head[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(head[8:], maskedCRC(head[:8]))
	var foot [4]byte
	binary.LittleEndian.PutUint32(foot[:], maskedCRC(data))
	for _, part := range [][]byte{head[:], data, foot[:]} {
		if _, err := t.w.Write(part); err != nil {
			return fmt.Errorf("tensorboard %s: %w", t.path, err)
		}
	}
	return nil
}

// Flush writes what is buffered to the file.
func (t *TensorBoard) Flush() error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("tensorboard %s: %w", t.path, err)
	}
	return nil
}

// Close flushes and closes the file.
func (t *TensorBoard) Close() error {
	err := t.Flush()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}
