package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/semcom/semcom/internal/fsutil"
)

// Row is one epoch's metrics.
type Row struct {
	Stage         string             `json:"stage"`
	Method        string             `json:"method"`
	LabelFraction float64            `json:"label_fraction"`
	Labels        int                `json:"labels_used,omitempty"` // labelled samples fine-tuning used
	TrainSNR      *float64           `json:"train_snr_db,omitempty"`
	Epoch         int                `json:"epoch"`
	Loss          float64            `json:"train_loss"`
	LR            float64            `json:"lr"`
	Accuracy      map[string]float64 `json:"test_accuracy,omitempty"`     // by SNR label ("10"), when evaluated: the mean over noise draws
	AccuracyStd   map[string]float64 `json:"test_accuracy_std,omitempty"` // the standard deviation over noise draws
	ValAccuracy   map[string]float64 `json:"val_accuracy,omitempty"`      // on the validation split, which every selection reads
	Spread        map[string]float64 `json:"spread,omitempty"`            // Stage I collapse monitor per feature set (probe.Spread)
	Ledger
	UplinkBytes   int64   `json:"uplink_bytes"`
	DownlinkBytes int64   `json:"downlink_bytes"`
	WallSeconds   float64 `json:"wall_s"`
}

// Scalars are the row's metrics by tracker tag: every metrics.csv column, as "<stage>/<column>",
// accuracies as "<stage>/test_acc/snr<S>", "test_acc_std/snr<S>", "val_acc/snr<S>", the collapse monitor as
// "<stage>/spread/<features>".
func (r Row) Scalars() map[string]float64 {
	s := r.Stage + "/"
	l := r.Ledger
	m := map[string]float64{s + "train_loss": r.Loss, s + "lr": r.LR, s + "rounds": float64(l.Rounds),
		s + "uplink_symbols": float64(l.UplinkSymbols), s + "downlink_symbols": float64(l.DownlinkSymbols),
		s + "uplink_bytes": float64(l.UplinkBytes()), s + "downlink_bytes": float64(l.DownlinkBytes()),
		s + "hypothetical_pretrain_symbols": float64(l.HypotheticalPretrainSymbols), s + "pretrain_exchanges": float64(l.PretrainExchanges),
		s + "pilot_symbols": float64(l.PilotSymbols), s + "wall_s": r.WallSeconds}
	for name, vals := range map[string]map[string]float64{"test_acc": r.Accuracy, "test_acc_std": r.AccuracyStd, "val_acc": r.ValAccuracy} {
		for k, v := range vals {
			m[s+name+"/snr"+k] = v
		}
	}
	for k, v := range r.Spread {
		m[s+"spread/"+k] = v
	}
	if r.Labels > 0 {
		m[s+"labels_used"] = float64(r.Labels)
	}
	return m
}

// SNRKey labels an SNR in metrics ("10", "-5", "2.5").
func SNRKey(snr float64) string { return strconv.FormatFloat(snr, 'f', -1, 64) }

// Metrics keeps a job's rows and rewrites metrics.csv and metrics.jsonl after each epoch, so a crash or a
// divergence leaves everything measured so far on disk.
type Metrics struct {
	dir  string
	snrs []float64
	Rows []Row
	// Discard keeps rows in memory only (the data-parallel ranks other than 0).
	Discard bool
}

// NewMetrics starts a metrics log in dir with accuracy columns for snrs.
func NewMetrics(dir string, snrs []float64) *Metrics { return &Metrics{dir: dir, snrs: snrs} }

// LoadMetrics reads the rows of an earlier run, keeping those up to epoch (for resuming).
func LoadMetrics(dir string, snrs []float64, upTo int) (*Metrics, error) {
	m := NewMetrics(dir, snrs)
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if os.IsNotExist(err) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", filepath.Join(dir, "metrics.jsonl"), line, err)
		}
		if r.Epoch <= upTo {
			m.Rows = append(m.Rows, r)
		}
	}
	return m, nil
}

// Append adds a row and rewrites the files.
func (m *Metrics) Append(r Row) error {
	r.UplinkBytes, r.DownlinkBytes = r.Ledger.UplinkBytes(), r.Ledger.DownlinkBytes()
	m.Rows = append(m.Rows, r)
	if m.Discard {
		return nil
	}
	return m.write()
}

func (m *Metrics) write() error {
	var js, csv bytes.Buffer
	cols := []string{"stage", "method", "label_fraction", "train_snr_db", "epoch", "train_loss", "lr"}
	for _, s := range m.snrs {
		cols = append(cols, "acc_snr_"+SNRKey(s), "acc_std_snr_"+SNRKey(s), "val_acc_snr_"+SNRKey(s))
	}
	cols = append(cols, "rounds", "uplink_symbols", "downlink_symbols", "uplink_bytes", "downlink_bytes",
		"hypothetical_pretrain_symbols", "pilot_symbols", "wall_s")
	csv.WriteString(strings.Join(cols, ",") + "\n")
	for _, r := range m.Rows {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		js.Write(append(b, '\n'))
		snr := ""
		if r.TrainSNR != nil {
			snr = SNRKey(*r.TrainSNR)
		}
		f := []string{r.Stage, r.Method, num(r.LabelFraction), snr, strconv.Itoa(r.Epoch), num(r.Loss), num(r.LR)}
		for _, s := range m.snrs {
			for _, acc := range []map[string]float64{r.Accuracy, r.AccuracyStd, r.ValAccuracy} {
				if a, ok := acc[SNRKey(s)]; ok {
					f = append(f, num(a))
				} else {
					f = append(f, "")
				}
			}
		}
		f = append(f, strconv.FormatInt(r.Rounds, 10), strconv.FormatInt(r.UplinkSymbols, 10),
			strconv.FormatInt(r.DownlinkSymbols, 10), strconv.FormatInt(r.UplinkBytes, 10),
			strconv.FormatInt(r.DownlinkBytes, 10), strconv.FormatInt(r.HypotheticalPretrainSymbols, 10), strconv.FormatInt(r.PilotSymbols, 10), num(r.WallSeconds))
		csv.WriteString(strings.Join(f, ",") + "\n")
	}
	if err := fsutil.WriteFile(filepath.Join(m.dir, "metrics.jsonl"), js.Bytes(), 0o644); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(m.dir, "metrics.csv"), csv.Bytes(), 0o644)
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
