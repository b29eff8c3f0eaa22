package train

// Ledger counts what crosses the air. One communication round is one fine-tuning mini-batch: every device
// sends B·K/2 complex symbols up (its semantic features) and receives the gradients of the same size down.
// Each complex symbol is counted as two float32 values (8 bytes). Pre-training sends nothing; for the
// cross-modal losses the ledger also counts, separately and labelled hypothetical, what exchanging the
// features would cost if the devices had to do it over the air.
type Ledger struct {
	Rounds          int64 `json:"rounds"`
	UplinkSymbols   int64 `json:"uplink_symbols"`
	DownlinkSymbols int64 `json:"downlink_symbols"`
	// HypotheticalPretrainSymbols is what Stage I's cross-modal feature exchange would cost over the air,
	// in each direction. Nothing is actually sent in Stage I.
	HypotheticalPretrainSymbols int64 `json:"hypothetical_pretrain_symbols"`
	// PretrainExchanges counts the Stage-I steps that would exchange features (cross-modal losses only):
	// each is a round trip, features up and the cross term's gradient down.
	PretrainExchanges int64 `json:"pretrain_exchanges"`
	// PilotSymbols are the channel uses spent on pilots for estimated CSI (channel.csi ls/mmse): N_p per
	// device per sample and round, on top of UplinkSymbols. Perfect CSI spends none.
	PilotSymbols int64 `json:"pilot_symbols"`
}

// BytesPerSymbol is the size of one complex symbol sent as two float32 values.
const BytesPerSymbol = 8

// FinetuneRound records one fine-tuning mini-batch of batch samples from devices devices with K features,
// each sample's block preceded by pilots pilot symbols.
func (l *Ledger) FinetuneRound(batch, devices, k, pilots int64) {
	s := batch * devices * (k / 2)
	l.Rounds++
	l.UplinkSymbols += s
	l.DownlinkSymbols += s
	l.PilotSymbols += batch * devices * pilots
}

// PretrainStep records the hypothetical exchange of one pre-training step of a cross-modal loss.
func (l *Ledger) PretrainStep(batch, devices, k int64, crossModal bool) {
	if crossModal {
		l.HypotheticalPretrainSymbols += batch * devices * (k / 2)
		l.PretrainExchanges++
	}
}

// UplinkBytes is the uplink volume in bytes.
func (l Ledger) UplinkBytes() int64 { return l.UplinkSymbols * BytesPerSymbol }

// DownlinkBytes is the downlink volume in bytes.
func (l Ledger) DownlinkBytes() int64 { return l.DownlinkSymbols * BytesPerSymbol }
