"""Fonts for qkv's plots: DejaVu Sans, then Debian's fonts-wqy-zenhei for Chinese, Japanese and
Korean labels (matplotlib falls back glyph by glyph along the list)."""
import os

from matplotlib import font_manager

CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


def families():
    names = ["DejaVu Sans"]
    if os.path.exists(CJK_FONT):
        font_manager.fontManager.addfont(CJK_FONT)
        names.append(font_manager.FontProperties(fname=CJK_FONT).get_name())
    return names
