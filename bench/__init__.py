"""Benchmarks on the evaluation set: accuracy (DER, WER, cpWER, tcpWER, flags) and speed."""
