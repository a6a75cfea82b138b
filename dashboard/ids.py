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
# Inside the case panel (dashboard.panels.case_panel): its shell, the action dialog, its fields.
PANEL_CLOSE = "case-panel-close"
PANEL_REFRESH = "case-panel-refresh"
PANEL_BODY = "case-panel-body"
PANEL_NOTICE = "case-panel-notice"
PANEL_LIVE_NOTICE = "case-panel-live-notice"  # someone else changed the open case
PANEL_STATE = "case-panel-state"
PANEL_MOVE = "case-panel-move"  # pattern-matching type: {"type": PANEL_MOVE, "move": name}
PANEL_DIALOG = "case-panel-dialog"
PANEL_DIALOG_TITLE = "case-panel-dialog-title"
PANEL_REASON = "case-panel-reason"
PANEL_REASON_LABEL = "case-panel-reason-label"
PANEL_REASON_ERROR = "case-panel-reason-error"
PANEL_TIER_ROW = "case-panel-tier-row"
PANEL_TIER = "case-panel-tier"
PANEL_TIER_ERROR = "case-panel-tier-error"
PANEL_OWNER_ROW = "case-panel-owner-row"
PANEL_OWNER = "case-panel-owner"
PANEL_OWNER_ERROR = "case-panel-owner-error"
PANEL_SATISFACTION_ROW = "case-panel-satisfaction-row"
PANEL_SATISFACTION = "case-panel-satisfaction"
PANEL_COMMENT_ROW = "case-panel-comment-row"
PANEL_COMMENT = "case-panel-comment"
PANEL_CONFIRM = "case-panel-confirm"
PANEL_DISMISS = "case-panel-dismiss"
# The dialog's fields of the later actions: forces needed (and by which unit), merge target.
PANEL_NEEDED_ROW = "case-panel-needed-row"
PANEL_NEEDED = "case-panel-needed"
PANEL_NEEDED_ERROR = "case-panel-needed-error"
PANEL_UNIT_ROW = "case-panel-unit-row"
PANEL_UNIT = "case-panel-unit"
PANEL_TARGET_ROW = "case-panel-target-row"
PANEL_TARGET = "case-panel-target"
PANEL_TARGET_ERROR = "case-panel-target-error"
# The manual intake form (dashboard.panels.intake_form), shown in the case panel's slot.
INTAKE_OPEN = "intake-open"
INTAKE_FORM = "intake-form"  # its fields are INTAKE_FORM + "-" + field name
INTAKE_CLOSE = "intake-close"
INTAKE_NOTICE = "intake-notice"
INTAKE_SUBMIT = "intake-submit"


def described() -> dict[str, str]:
    """Every id above by its name, as the page hands them to the browser code."""
    return {name: value for name, value in globals().items() if name.isupper()}
