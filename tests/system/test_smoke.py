def test_login_page_renders_for_anonymous(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200


def test_overview_requires_login(client, db):
    response = client.get("/backups/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
