"""Component ids, defined once: the layout, the browser code (`described`) and the tests."""

URL = "url"
PAGE = "page"
LIVE_CONFIG = "live-config"
LIVE_MAP = "live-map"
BOUNDARY_LAYER = "boundary-layer"
TOWNSHIP_LAYER = "township-layer"
QUEUE = "case-queue"  # the AG Grid of open cases (rows come from the live socket only)
QUEUE_COUNT = "queue-count"
QUEUE_OVERDUE_ONLY = "queue-overdue-only"
QUEUE_MINE_ONLY = "queue-mine-only"
MAP_LEGEND = "map-legend"
LAYER_TOGGLES = "layer-toggles"
LINK_STATUS = "link-status"
CLOCK = "clock"
DEGRADED_BANNER = "degraded-banner"
# The case a person opened (a row or a marker clicked): {"case_id": int, "n": click count}.
SELECTED_CASE = "selected-case"
CASE_PANEL = "case-panel"


def described() -> dict[str, str]:
    """Every id above by its name, as the page hands them to the browser code."""
    return {name: value for name, value in globals().items() if name.isupper()}
