"""The provider's claims: what it says about a person in the ID token and the user information."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class GroupsValidator(OAuth2Validator):
    """Puts the person's names, e-mail and groups in the ID token and the user information."""

    oidc_claim_scope = None  # every claim below, whatever the scopes

    def get_additional_claims(self, request):
        user = request.user
        return {"preferred_username": user.username, "email": user.email, "given_name": user.first_name,
                "family_name": user.last_name, "groups": sorted(user.groups.values_list("name", flat=True))}
