"""The Streamlit explorer: its pages (`*_page.py`), the sidebar, the session state, cached loaders and charts; all
computation lives in `emogan` (this package only draws)."""
