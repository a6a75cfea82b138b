"""The Dash command centre: pages per role, panels, presenters, i18n."""
