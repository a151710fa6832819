package bedrocktest

// invokeModel serves InvokeModel. Only embedding models are emulated.
func (e *Emulator) invokeModel(x *exchange) {
	writeError(x.w, validation("bedrocktest: InvokeModel is not emulated yet."))
}
