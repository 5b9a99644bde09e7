"""The report charts: the signed bars of the taxes-saved decomposition."""

import re

from apps.reports.charts import SignedBar, signed_bars


def test_signed_bars_draw_costs_left_of_zero_and_escape_labels():
    svg = str(
        signed_bars(
            [SignedBar("<b>saved</b>", 300.0), SignedBar("fees", -100.0, is_total=True)],
            title="t",
            primary="#112233",
            secondary="#445566",
        )
    )
    assert "<b>" not in svg and "&lt;b&gt;saved&lt;/b&gt;" in svg
    zero = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))
    rects = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="(#\w+)"', svg)
    (saved_x, saved_w, saved_fill), (fees_x, fees_w, fees_fill) = rects
    assert float(saved_x) == zero and saved_fill == "#112233"
    assert abs(float(fees_x) + float(fees_w) - zero) < 0.11 and fees_fill == "#445566"
    assert abs(float(saved_w) - 3 * float(fees_w)) < 0.2  # to scale, at 0.1 px
    assert "-100.00" in svg and 'font-weight="bold"' in svg
