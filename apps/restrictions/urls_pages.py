"""Design and restriction pages, mounted at the root of firm hosts by config/urls_tenants.py."""

from django.urls import path

from apps.restrictions import views

urlpatterns = [
    path("accounts/<int:pk>/design/", views.account_design_page, name="account-design"),
    path("accounts/<int:pk>/profile/", views.account_profile_update, name="account-profile-update"),
    path(
        "accounts/<int:pk>/design/model/",
        views.account_model_assign,
        name="account-design-model",
    ),
    path(
        "accounts/<int:pk>/design/restrictions/",
        views.account_restriction_add,
        name="account-design-restriction-add",
    ),
    path(
        "accounts/<int:pk>/design/restrictions/<int:restriction_id>/end/",
        views.account_restriction_end,
        name="account-design-restriction-end",
    ),
    path(
        "accounts/<int:pk>/design/outside/",
        views.account_outside_holding_set,
        name="account-design-outside-set",
    ),
    path(
        "accounts/<int:pk>/design/outside/<int:holding_id>/remove/",
        views.account_outside_holding_remove,
        name="account-design-outside-remove",
    ),
    path("restrictions/", views.firm_restrictions_page, name="firm-restrictions"),
    path("restrictions/add/", views.firm_restriction_add, name="firm-restriction-add"),
    path(
        "restrictions/<int:restriction_id>/end/",
        views.firm_restriction_end,
        name="firm-restriction-end",
    ),
    path("restrictions/substitutes/", views.firm_substitute_set, name="firm-substitute-set"),
    path(
        "restrictions/fund-screens/",
        views.firm_fund_screen_policy_set,
        name="firm-fund-screen-policy-set",
    ),
]
