"""Reproducing the paper: its Table A1 (no training) and its two training results, the overlap
ladder (Fig. 9) and the box-blur fix (Fig. 11), from records next to the paper's values."""
