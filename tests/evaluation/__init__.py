"""Tests of the fidelity maths and the class readout."""
