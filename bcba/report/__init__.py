"""Report rendering: nbconvert template, HTML helpers, PDF via headless Chromium."""
