"""User-facing words: zh-CN by default, English on request."""

from __future__ import annotations

from typing import Final

from incidents.lifecycle import STEP_NAMES_ZH, Move
from incidents.vocabulary import Step

DEFAULT_LANG: Final = "zh-CN"
LANGS: Final = ("zh-CN", "en")

_TEXTS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "product": "平安指挥",
        "centre": "社会治理综合指挥中心",
        "live_queue": "实时接报",
        "open_cases": "起",
        "link_connecting": "连接中…",
        "link_live": "实时",
        "link_lost": "连接中断，正在重连",
        "outside": "辖区外",
        "empty_queue": "暂无待处置事件",
        "map": "态势图",
        "severity": "级",
        "switch_lang": "English",
        "reports": "{n} 次报告",
        "degraded": "降级运行：{component}不可用，自 {since} 起",
        "component_storage": "数据存储",
        "component_redis": "消息总线",
        "component_forming": "事件生成",
        "component_intake": "接报入库",
        "sign_in_title": "登录",
        "username": "用户名",
        "password": "密码",
        "sign_in": "登录",
        "bad_credentials": "用户名或密码错误",
        "locked": "登录失败次数过多，请在 {seconds} 秒后再试",
        "form_expired": "页面已过期，请重新提交",
        "display_title": "大屏接入",
        "display_intro": "请输入管理员发放的大屏接入码（只需输入一次）。",
        "display_token": "大屏接入码",
        "display_sign_in": "接入",
        "display_bad": "接入码无效或已被收回",
        "display_locked": "尝试次数过多，请在 {seconds} 秒后再试",
        "password_change_title": "修改密码",
        "password_change_intro": "首次登录请设置新密码"
        "（至少10位，包含大小写字母、数字、符号中的三类）。",
        "new_password": "新密码",
        "repeat_password": "再次输入新密码",
        "save_password": "保存并进入",
        "passwords_differ": "两次输入的密码不一致",
        "logout": "退出登录",
        "audit_title": "审计日志",
        "admin_title": "用户管理",
        "admin_username": "用户名",
        "admin_name": "姓名",
        "admin_jurisdiction": "所属辖区代码",
        "admin_state": "状态",
        "admin_actions": "操作",
        "admin_active": "启用",
        "admin_disabled": "已停用",
        "admin_reset": "重置密码",
        "admin_revoke": "注销全部会话",
        "admin_disable": "停用",
        "admin_displays": "大屏接入码",
        "admin_display_label": "大屏名称",
        "admin_display_create": "发放接入码",
        "admin_terminals": "移动终端",
        "admin_terminal": "终端编号",
        "admin_unit": "所属力量编号",
        "admin_terminal_issue": "发放终端令牌",
        "admin_id": "标识",
        "admin_withdraw": "收回",
        "admin_withdrawn": "已收回",
        "admin_token_once": "{who} 的令牌（仅此一次显示，请立即录入设备）：{token}",
        "admin_create": "新建用户",
        "admin_created": "{user} 的一次性密码：{password}（只显示这一次，首次登录须修改）",
        "admin_unknown": "没有这个用户",
        "admin_done": "已完成",
        "audit_at": "时间",
        "audit_user": "用户",
        "audit_role": "角色",
        "audit_address": "来源地址",
        "audit_action": "操作",
        "audit_outcome": "结果",
        "audit_case": "事件编号",
        "audit_detail": "说明",
        "audit_filter": "筛选",
        "audit_empty": "没有符合条件的记录",
        "signed_in_as": "{name}（{role}）",
        # Duty console: live map and queue.
        "centre_title": "{county}社会治理综合指挥中心",
        "county_320118": "高淳区",
        "col_severity": "等级",
        "col_case_no": "事件编号",
        "col_category": "类别",
        "col_channel": "来源",
        "col_summary": "事由",
        "col_township": "镇街",
        "col_step": "环节",
        "col_owner": "首问责任人",
        "col_reports": "报告",
        "col_deadline": "办结时限",
        "col_opened": "立案",
        "overdue_only": "只看超期",
        "mine_only": "只看我的",
        "due_in": "剩 {t}",
        "overdue_by": "超期 {t}",
        "mark_new": "新",
        "mark_linked": "+1 报告",
        "legend": "图例",
        "legend_severity": "事件等级",
        "legend_steps": "环节（标记线型）",
        "legend_units": "力量",
        "layer_cases": "事件",
        "layer_units": "力量",
        "unit_available": "可派",
        "unit_busy": "处置中",
        "unit_off": "离线/休整",
        "unit_stale": "位置过旧（>5分钟）",
        "unit_age": "{m} 分钟前",
        "cluster": "{n} 起",
    },
    "en": {
        "product": "Pingan Command",
        "centre": "Social Governance Command Centre",
        "live_queue": "Live intake",
        "open_cases": "open",
        "link_connecting": "connecting…",
        "link_live": "live",
        "link_lost": "connection lost, reconnecting",
        "outside": "outside jurisdiction",
        "empty_queue": "No open cases",
        "map": "Situation map",
        "severity": "",
        "switch_lang": "中文",
        "reports": "{n} reports",
        "degraded": "Degraded: {component} unavailable since {since}",
        "component_storage": "storage",
        "component_redis": "the message bus",
        "component_forming": "case formation",
        "component_intake": "intake",
        "sign_in_title": "Sign in",
        "username": "User name",
        "password": "Password",
        "sign_in": "Sign in",
        "bad_credentials": "Wrong user name or password",
        "locked": "Too many failed sign-ins: try again in {seconds} s",
        "form_expired": "The page has expired: please send it again",
        "display_title": "Wall screen sign-in",
        "display_intro": "Enter the display token an administrator issued (needed only once).",
        "display_token": "Display token",
        "display_sign_in": "Connect",
        "display_bad": "Unknown or revoked display token",
        "display_locked": "Too many tries: try again in {seconds} s",
        "password_change_title": "Change your password",
        "password_change_intro": "Set a new password at first sign-in (at least 10 characters,"
        " three of: lower-case, upper-case, digits, signs).",
        "new_password": "New password",
        "repeat_password": "New password again",
        "save_password": "Save and continue",
        "passwords_differ": "The two passwords differ",
        "logout": "Sign out",
        "audit_title": "Audit trail",
        "admin_title": "Users",
        "admin_username": "User name",
        "admin_name": "Name",
        "admin_jurisdiction": "Jurisdiction code",
        "admin_state": "State",
        "admin_actions": "Actions",
        "admin_active": "active",
        "admin_disabled": "disabled",
        "admin_reset": "Reset password",
        "admin_revoke": "End all sessions",
        "admin_disable": "Disable",
        "admin_displays": "Wall-screen tokens",
        "admin_display_label": "Screen name",
        "admin_display_create": "Issue a token",
        "admin_terminals": "Field terminals",
        "admin_terminal": "Terminal id",
        "admin_unit": "Unit id",
        "admin_terminal_issue": "Issue a terminal token",
        "admin_id": "Id",
        "admin_withdraw": "Revoke",
        "admin_withdrawn": "revoked",
        "admin_token_once": "Token of {who} (shown only now: enter it into the device): {token}",
        "admin_create": "Create user",
        "admin_created": "One-time password of {user}: {password} (shown only now;"
        " it must be changed at first sign-in)",
        "admin_unknown": "No such user",
        "admin_done": "Done",
        "audit_at": "Time",
        "audit_user": "User",
        "audit_role": "Role",
        "audit_address": "Address",
        "audit_action": "Action",
        "audit_outcome": "Outcome",
        "audit_case": "Case",
        "audit_detail": "Detail",
        "audit_filter": "Filter",
        "audit_empty": "No entries match",
        "signed_in_as": "{name} ({role})",
        # Duty console: live map and queue.
        "centre_title": "{county} Social Governance Command Centre",
        "county_320118": "Gaochun District",
        "col_severity": "Level",
        "col_case_no": "Case no.",
        "col_category": "Category",
        "col_channel": "Channel",
        "col_summary": "Summary",
        "col_township": "Township",
        "col_step": "Step",
        "col_owner": "Owner",
        "col_reports": "Reports",
        "col_deadline": "Deadline",
        "col_opened": "Opened",
        "overdue_only": "Overdue only",
        "mine_only": "Mine only",
        "due_in": "{t} left",
        "overdue_by": "{t} overdue",
        "mark_new": "New",
        "mark_linked": "+1 report",
        "legend": "Legend",
        "legend_severity": "Case level",
        "legend_steps": "Step (marker outline)",
        "legend_units": "Units",
        "layer_cases": "Cases",
        "layer_units": "Units",
        "unit_available": "Available",
        "unit_busy": "On a task",
        "unit_off": "Off duty / offline",
        "unit_stale": "Position stale (>5 min)",
        "unit_age": "{m} min ago",
        "cluster": "{n} cases",
    },
}

_CATEGORIES: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "dispute": "矛盾纠纷",
        "public_security": "治安",
        "petition": "信访",
        "safety_production": "安全生产",
        "fire": "火灾",
        "traffic": "交通",
        "mass_incident": "群体性事件",
        "emergency": "突发事件",
        "public_service": "民生服务",
        "special_population": "特殊人群",
        "other": "其他",
    },
    "en": {
        "dispute": "Dispute",
        "public_security": "Public security",
        "petition": "Petition",
        "safety_production": "Safety production",
        "fire": "Fire",
        "traffic": "Traffic",
        "mass_incident": "Mass incident",
        "emergency": "Emergency",
        "public_service": "Public service",
        "special_population": "Special population",
        "other": "Other",
    },
}

_CHANNELS: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "110": "110",
        "12345": "12345",
        "grid": "网格上报",
        "camera": "技防报警",
        "walk_in": "窗口来访",
        "online": "网上受理",
        "sos": "一键求助",
        "petition": "信访",
    },
    "en": {
        "110": "110",
        "12345": "12345",
        "grid": "Grid worker",
        "camera": "Camera alarm",
        "walk_in": "Walk-in",
        "online": "Online",
        "sos": "SOS",
        "petition": "Petition",
    },
}

_SEVERITIES: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {"1": "Ⅰ级", "2": "Ⅱ级", "3": "Ⅲ级", "4": "Ⅳ级"},
    "en": {"1": "Level I", "2": "Level II", "3": "Level III", "4": "Level IV"},
}


_STEPS: Final[dict[str, dict[Step, str]]] = {
    "zh-CN": dict(STEP_NAMES_ZH),
    "en": {
        Step.INTAKE: "Intake",
        Step.REPORT: "Report",
        Step.DISPATCH: "Dispatch",
        Step.FEEDBACK: "Handling & feedback",
        Step.VERIFY: "Verification",
        Step.ARCHIVE: "Evaluation & archive",
    },
}

# What each lifecycle move is called on a button or in the timeline.
_MOVES: Final[dict[str, dict[Move, str]]] = {
    "zh-CN": {
        Move.ACCEPT: "受理",
        Move.REJECT: "不予受理",
        Move.ESCALATE: "上报上级",
        Move.HAND_DOWN: "交办下级",
        Move.HAND_OVER: "移交首问责任",
        Move.DISPATCH: "指挥派遣",
        Move.ACKNOWLEDGE: "签收",
        Move.ARRIVE: "到场",
        Move.REPORT_FEEDBACK: "处置反馈",
        Move.REQUEST_FORCES: "请求增援",
        Move.STAND_DOWN: "撤回力量",
        Move.VERIFY_PASS: "核查通过",
        Move.VERIFY_FAIL: "核查不通过，退回重办",
        Move.EVALUATE_AND_ARCHIVE: "评价归档",
        Move.CANCEL: "撤销(虚假报警)",
        Move.MERGE_INTO: "合并到已有事件",
        Move.LINK_REPORTS: "关联重复报告",
        Move.UNLINK_REPORT: "拆分报告",
        Move.RECORD_OVERDUE: "超期记录并自动上报",
    },
    "en": {
        Move.ACCEPT: "Accept",
        Move.REJECT: "Reject",
        Move.ESCALATE: "Escalate",
        Move.HAND_DOWN: "Hand down",
        Move.HAND_OVER: "Hand over ownership",
        Move.DISPATCH: "Dispatch",
        Move.ACKNOWLEDGE: "Acknowledge",
        Move.ARRIVE: "Arrive",
        Move.REPORT_FEEDBACK: "Report feedback",
        Move.REQUEST_FORCES: "Request forces",
        Move.STAND_DOWN: "Stand down",
        Move.VERIFY_PASS: "Verification passed",
        Move.VERIFY_FAIL: "Verification failed, back to handling",
        Move.EVALUATE_AND_ARCHIVE: "Evaluate and archive",
        Move.CANCEL: "Cancel (false report)",
        Move.MERGE_INTO: "Merge into another case",
        Move.LINK_REPORTS: "Link duplicate reports",
        Move.UNLINK_REPORT: "Split off a report",
        Move.RECORD_OVERDUE: "Record overdue and escalate",
    },
}


_ROLES: Final[dict[str, dict[str, str]]] = {
    "zh-CN": {
        "county_director": "中心主任",
        "county_duty_officer": "值班员",
        "county_analyst": "研判分析员",
        "township_coordinator": "乡镇(街道)综治中心",
        "village_officer": "村(社区)综治办",
        "grid_worker": "网格员",
        "field_unit": "处置力量",
        "wall_screen": "大屏",
        "auditor": "审计员",
        "administrator": "系统管理员",
    },
    "en": {
        "county_director": "Centre director",
        "county_duty_officer": "Duty officer",
        "county_analyst": "Analyst",
        "township_coordinator": "Township coordinator",
        "village_officer": "Village officer",
        "grid_worker": "Grid worker",
        "field_unit": "Field unit",
        "wall_screen": "Wall screen",
        "auditor": "Auditor",
        "administrator": "Administrator",
    },
}


def role_name(lang: str, role: str) -> str:
    """What a role is called on the screen (its code if unknown)."""
    return _ROLES[pick_lang(lang)].get(role, role)


def step_name(lang: str, step: Step) -> str:
    """What a step of the six-step loop is called."""
    return _STEPS[pick_lang(lang)][step]


def move_name(lang: str, move: Move) -> str:
    """What a lifecycle move is called."""
    return _MOVES[pick_lang(lang)][move]


def pick_lang(requested: str | None) -> str:
    """A supported language from a request, else the default."""
    return requested if requested in LANGS else DEFAULT_LANG


def text(lang: str, key: str) -> str:
    """One UI string in the given language."""
    return _TEXTS[pick_lang(lang)][key]


def browser_words(lang: str) -> dict[str, dict[str, str]]:
    """Everything the live browser code needs to label cases, in one language."""
    lang = pick_lang(lang)
    return {
        "ui": _TEXTS[lang],
        "category": _CATEGORIES[lang],
        "channel": _CHANNELS[lang],
        "severity": _SEVERITIES[lang],
        "step": {str(step): name for step, name in _STEPS[lang].items()},
    }


def county_title(lang: str, code: str, fallback: str) -> str:
    """The centre's title with the county's name in the language (the pack's name if unknown)."""
    words = _TEXTS[pick_lang(lang)]
    county = words.get(f"county_{code[:6]}", fallback)
    return words["centre_title"].replace("{county}", county)
