"""Billed token counts against local recounts, and the calibration of estimates fitted from them."""
