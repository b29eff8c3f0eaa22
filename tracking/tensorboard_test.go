package tracking

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Event schema, as tensorflow/core/util/event.proto and its imports define the fields semcom writes;
// protoc compiles it for the independent reader below.
const eventProto = `syntax = "proto3";
package semcomtest;
message TensorShapeProto { message Dim { int64 size = 1; string name = 2; } repeated Dim dim = 2; bool unknown_rank = 3; }
message TensorProto { int32 dtype = 1; TensorShapeProto tensor_shape = 2; repeated bytes string_val = 8; }
message SummaryMetadata { message PluginData { string plugin_name = 1; bytes content = 2; } PluginData plugin_data = 1; }
message Summary { message Value { string tag = 1; float simple_value = 2; TensorProto tensor = 8; SummaryMetadata metadata = 9; } repeated Value value = 1; }
message Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3; Summary summary = 5; } }
`

// The reader: TFRecord framing with both masked CRC32C checked (Debian's python3-crc32c), each record
// parsed by the protoc-generated module (python3-protobuf). One JSON line per event; exit 3 on a bad CRC.
const reader = `import json, struct, sys
import crc32c
import event_pb2
def masked(b):
    c = crc32c.crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xa282ead8) & 0xffffffff
data = open(sys.argv[1], 'rb').read()
i = 0
while i < len(data):
    head = data[i:i+8]; (n,) = struct.unpack('<Q', head); (hc,) = struct.unpack('<I', data[i+8:i+12])
    if masked(head) != hc: print('bad length crc at', i); sys.exit(3)
    body = data[i+12:i+12+n]; (bc,) = struct.unpack('<I', data[i+12+n:i+16+n])
    if masked(body) != bc: print('bad data crc at', i); sys.exit(3)
    i += 16 + n
    ev = event_pb2.Event(); ev.ParseFromString(body)
    out = {'wall_time': ev.wall_time, 'step': ev.step, 'file_version': ev.file_version, 'values': {}, 'texts': {}}
    for v in ev.summary.value:
        if v.HasField('tensor'):
            out['texts'][v.tag] = [v.metadata.plugin_data.plugin_name, v.tensor.dtype, v.tensor.string_val[0].decode()]
        else:
            out['values'][v.tag] = v.simple_value
    print(json.dumps(out))
`

type decoded struct {
	WallTime    float64            `json:"wall_time"`
	Step        int64              `json:"step"`
	FileVersion string             `json:"file_version"`
	Values      map[string]float64 `json:"values"`
	Texts       map[string][]any   `json:"texts"`
}

// readIndependently decodes an event file with protoc-generated Python code.
func readIndependently(t *testing.T, path string) ([]decoded, string, error) {
	t.Helper()
	for _, tool := range []string{"protoc", "/usr/bin/python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing ('make test' installs protobuf-compiler, python3-protobuf and python3-crc32c): %v", tool, err)
		}
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import google.protobuf, crc32c").Run(); err != nil {
		t.Skipf("Debian's python3-protobuf and python3-crc32c are missing ('make test' installs them): %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "event.proto"), []byte(eventProto), 0o644)
	os.WriteFile(filepath.Join(dir, "reader.py"), []byte(reader), 0o644)
	if out, err := exec.Command("protoc", "--proto_path="+dir, "--python_out="+dir, filepath.Join(dir, "event.proto")).CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v: %s", err, out)
	}
	cmd := exec.Command("/usr/bin/python3", filepath.Join(dir, "reader.py"), path)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var evs []decoded
	if err != nil {
		return nil, string(out), err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var d decoded
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("reader printed %q: %v", line, err)
		}
		evs = append(evs, d)
	}
	return evs, string(out), nil
}

func TestTensorBoardEventsReadByAnIndependentReader(t *testing.T) {
	dir := t.TempDir()
	tr, err := Open([]string{"tensorboard"}, dir, "finetune-proposed-labels100-snr10")
	if err != nil {
		t.Fatal(err)
	}
	want := []map[string]float64{
		{"finetune/train_loss": 2.25, "finetune/test_acc/snr10": 0.5, "lr": 0.05, "finetune/rounds": 9},
		{"finetune/train_loss": 1.125, "finetune/test_acc/snr10": 0.75, "lr": 0.025, "finetune/rounds": 18},
	}
	if err := tr.Text(0, "config", "name: demo\nseed: 1\n"); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		if err := tr.Scalars(int64(i+1), w); err != nil {
			t.Fatal(err)
		}
		tr.Flush()
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "finetune-proposed-labels100-snr10", "events.out.tfevents.*"))
	if len(files) != 1 {
		t.Fatalf("event files: %v", files)
	}
	evs, out, err := readIndependently(t, files[0])
	if err != nil {
		t.Fatalf("reader: %v\n%s", err, out)
	}
	if len(evs) != 4 || evs[0].FileVersion != "brain.Event:2" || evs[0].WallTime < 1e9 {
		t.Fatalf("events %+v", evs)
	}
	if txt := evs[1].Texts["config"]; len(txt) != 3 || txt[0] != "text" || txt[1] != float64(7) || txt[2] != "name: demo\nseed: 1\n" {
		t.Fatalf("text event %+v", evs[1])
	}
	for i, w := range want {
		ev := evs[i+2]
		if ev.Step != int64(i+1) || len(ev.Values) != len(w) {
			t.Fatalf("event %d: %+v", i, ev)
		}
		for tag, v := range w {
			if math.Abs(ev.Values[tag]-v) > 1e-6 {
				t.Fatalf("event %d: %s = %v, want %v", i, tag, ev.Values[tag], v)
			}
		}
	}
	// One flipped byte is caught by the CRCs.
	raw, _ := os.ReadFile(files[0])
	raw[len(raw)-10] ^= 0x40
	bad := filepath.Join(t.TempDir(), "events.out.tfevents.bad")
	os.WriteFile(bad, raw, 0o644)
	if _, out, err := readIndependently(t, bad); err == nil || !strings.Contains(out, "bad data crc") {
		t.Fatalf("a corrupted byte was not detected: %v\n%s", err, out)
	}
}

func TestTrackerNamesAndFolders(t *testing.T) {
	if err := Check([]string{"tensorboard", "wandb"}); err == nil || !strings.Contains(err.Error(), `"wandb" is not a tracker; known: tensorboard`) {
		t.Fatalf("unknown tracker: %v", err)
	}
	if err := CheckWritable("/proc/semcom-tb"); err == nil {
		t.Fatal("an unwritable folder passed")
	}
	if err := CheckWritable(filepath.Join(t.TempDir(), "tb")); err != nil {
		t.Fatal(err)
	}
	none, err := Open(nil, t.TempDir(), "x")
	if err != nil || none.Scalars(1, map[string]float64{"a": 1}) != nil || none.Close() != nil {
		t.Fatalf("no trackers: %v", err)
	}
}
