"""The Streamlit explorer's pages and app state; all computation lives in `emogan` (this package only draws)."""
