CREATE TABLE `identities` (`id` char(36) NOT NULL, `nid` char(36) NOT NULL, `traits` json NOT NULL, PRIMARY KEY(`id`)) ENGINE=InnoDB;
